import { Module } from '@nestjs/common';
import { MaintenanceWorkerModule } from './maintenance/maintenance-worker.module';
import { OpsMetricsModule } from './metrics/ops-metrics.module';
import { QueueFiguresLogger } from './metrics/queue-figures-logger';

/** The worker's share of ops: the maintenance consumer and the queue figures' log line. */
@Module({
  imports: [MaintenanceWorkerModule, OpsMetricsModule],
  providers: [QueueFiguresLogger],
})
export class OpsWorkerModule {}
