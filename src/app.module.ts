import { DynamicModule, Module } from '@nestjs/common';
import { AccountPorts } from './accounts/accounts.module';
import { AuditLogModule } from './audit/audit-log.module';
import { AuditModule } from './audit/audit.module';
import { DeadLetterOperationsModule } from './dead-letters/dead-letter-operations.module';
import { DeadLetterReplayOperation } from './dead-letters/dead-letter-replay.operation';
import { DeadLetterReplayer } from './dead-letters/dead-letter-replayer.port';
import { DeadLettersApiModule } from './dead-letters/dead-letters-api.module';
import { DeadLettersModule } from './dead-letters/dead-letters.module';
import { InboundPorts } from './inbound/inbound-ports';
import { InboundWorkerModule } from './inbound/inbound-worker.module';
import { InboundModule } from './inbound/inbound.module';
import { InboundDeadLetterReplayer } from './inbound/replay/dead-letter.replayer';
import { InboundReplayModule } from './inbound/replay/inbound-replay.module';
import { MessagesApiModule } from './messages/messages-api.module';
import { MessagesWorkerModule } from './messages/messages-worker.module';
import { AdminModule } from './ops/admin/admin.module';
import { ErasureModule } from './ops/erasure/erasure.module';
import { KeysModule } from './ops/keys/keys.module';
import { ReencryptOperation } from './ops/keys/reencrypt.operation';
import { HealthModule } from './ops/health/health.module';
import { MaintenanceModule } from './ops/maintenance/maintenance.module';
import { OpsMetricsModule } from './ops/metrics/ops-metrics.module';
import { OpsWorkerModule } from './ops/ops-worker.module';
import { AccountNoticesPublisher } from './outbound/events/account-notices.publisher';
import { MessageStoredPublisher } from './outbound/events/message-stored.publisher';
import { OperationalEventsPublisher } from './outbound/events/operational-events.publisher';
import { DeliveryRetryOperation } from './outbound/delivery/delivery-retry.operation';
import { OutboundCoreModule } from './outbound/outbound-core.module';
import { OutboundWorkerModule } from './outbound/outbound-worker.module';
import { OutboundModule } from './outbound/outbound.module';
import { OperationalEventsModule } from './platform/operational-events/operational-events.module';
import { OperationKind } from './platform/operations/operation-kind';
import { OperationsWorkerModule } from './platform/operations/operations-worker.module';
import { PlatformModule } from './platform/platform.module';
import { PortBinding } from './platform/ports';
import { UiModule } from './ui/ui.module';

/** Who the accounts room tells what: its notices become operational events through outbound's publisher. */
const accountPorts: AccountPorts = {
  notices: { module: OutboundCoreModule, use: AccountNoticesPublisher },
};

/** Who inbound tells what, the same in every process: stored messages go to outbound's publisher. */
const inboundPorts: InboundPorts = {
  messageStored: { module: OutboundCoreModule, use: MessageStoredPublisher },
  accounts: accountPorts,
};

/** Dead letters are replayed by inbound (it owns the events, their replies and the queue). */
const deadLetterPorts: { replayer: PortBinding<DeadLetterReplayer> } = {
  replayer: { module: InboundReplayModule, use: InboundDeadLetterReplayer },
};

/** Every kind of durable operation, with the module that provides it: what the operations consumer can run. */
const operationKinds: PortBinding<OperationKind>[] = [
  { module: DeadLetterOperationsModule.register(deadLetterPorts), use: DeadLetterReplayOperation },
  { module: OutboundCoreModule, use: DeliveryRetryOperation },
  { module: KeysModule, use: ReencryptOperation },
];

/** Every room tells of incidents through outbound (operational events to `switchboard.*` subscribers). */
const operationalEvents = OperationalEventsModule.register({
  module: OutboundCoreModule,
  use: OperationalEventsPublisher,
});

/** Every process: the platform, the audit log, operational events, the dead-letter alert, health and metrics. */
const everyProcess = [
  PlatformModule,
  AuditModule,
  operationalEvents,
  DeadLettersModule,
  HealthModule,
  OpsMetricsModule,
];

/** The consumers: only a process that imports these takes jobs off the queues. */
const consumers = [
  InboundWorkerModule.register(inboundPorts),
  MessagesWorkerModule,
  OutboundWorkerModule,
  OpsWorkerModule.register({ accounts: accountPorts }),
  OperationsWorkerModule.register(operationKinds),
];

/** The API's HTTP surfaces. */
const surfaces = [
  InboundModule.register(inboundPorts),
  MessagesApiModule,
  DeadLettersApiModule.register(deadLetterPorts),
  AdminModule.register({ accounts: accountPorts }),
  AuditLogModule,
  UiModule,
  MaintenanceModule,
  ErasureModule,
  KeysModule,
  OutboundModule,
];

export interface ApiOptions {
  /** Run the queue consumers in this process too (WORKERS_ENABLED). */
  withWorkers: boolean;
}

/** The API process: HTTP surfaces, and the consumers when asked for. */
@Module({})
export class ApiModule {
  static register(options: ApiOptions): DynamicModule {
    return {
      module: ApiModule,
      imports: [...everyProcess, ...surfaces, ...(options.withWorkers ? consumers : [])],
    };
  }
}

/** The standalone worker process: consumers, and /health and /metrics when WORKER_HEALTH_PORT is set. */
@Module({
  imports: [...everyProcess, ...consumers],
})
export class WorkerProcessModule {}
