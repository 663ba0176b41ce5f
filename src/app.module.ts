import { DynamicModule, Module } from '@nestjs/common';
import { AdminModule } from './ops/admin/admin.module';
import { AuditLogModule } from './audit/audit-log.module';
import { CoreModule } from './core.module';
import { ErasureModule } from './ops/erasure/erasure.module';
import { HealthModule } from './ops/health/health.module';
import { MaintenanceModule } from './ops/maintenance/maintenance.module';
import { OutboundModule } from './outbound/outbound.module';
import { WorkerModule } from './inbound/inbound-worker.module';
import { UiModule } from './ui/ui.module';
import { WebhooksModule } from './inbound/inbound.module';

export interface ApiOptions {
  /** Run the queue consumers in this process too (WORKERS_ENABLED). */
  withWorkers: boolean;
}

/** The API process: HTTP surfaces, and the workers when asked for. */
@Module({})
export class ApiModule {
  static register(options: ApiOptions): DynamicModule {
    return {
      module: ApiModule,
      imports: [
        CoreModule,
        HealthModule,
        WebhooksModule,
        AdminModule,
        AuditLogModule,
        UiModule,
        MaintenanceModule,
        ErasureModule,
        OutboundModule,
        ...(options.withWorkers ? [WorkerModule] : []),
      ],
    };
  }
}

/** The standalone worker process: consumers, and a health endpoint when WORKER_HEALTH_PORT is set. */
@Module({
  imports: [CoreModule, HealthModule, WorkerModule],
})
export class WorkerProcessModule {}
