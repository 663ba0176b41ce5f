import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { QueueName } from '../../platform/queue/queue-names';
import { MaintenanceProcessor } from './maintenance.processor';
import { MaintenanceScheduler } from './maintenance.scheduler';
import { RetentionModule } from './retention.module';

/** The maintenance consumer and its schedules. Imported only by worker compositions. */
@Module({
  imports: [RetentionModule, BullModule.registerQueue({ name: QueueName.Maintenance })],
  providers: [MaintenanceProcessor, MaintenanceScheduler],
})
export class MaintenanceWorkerModule {}
