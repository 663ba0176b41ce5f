import { DynamicModule, Module } from '@nestjs/common';
import { AccountPorts } from '../accounts/accounts.module';
import { MaintenanceWorkerModule } from './maintenance/maintenance-worker.module';
import { OpsMetricsModule } from './metrics/ops-metrics.module';
import { QueueFiguresLogger } from './metrics/queue-figures-logger';

/** The worker's share of ops: the maintenance consumer and the queue figures' log line. */
@Module({})
export class OpsWorkerModule {
  static register(ports: { accounts: AccountPorts }): DynamicModule {
    return {
      module: OpsWorkerModule,
      imports: [MaintenanceWorkerModule.register(ports), OpsMetricsModule],
      providers: [QueueFiguresLogger],
    };
  }
}
