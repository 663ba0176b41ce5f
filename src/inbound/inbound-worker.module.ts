import { Module } from '@nestjs/common';
import { MaintenanceWorkerModule } from '../ops/maintenance/maintenance-worker.module';
import { OutboundWorkerModule } from '../outbound/outbound-worker.module';
import { QueueFiguresLogger } from '../ops/metrics/queue-figures-logger';
import { InboundEventProcessor } from './processing/inbound-event.processor';
import { ProcessingModule } from './processing/processing.module';

/** The consumers. Only a process that imports this module takes jobs off the queues. */
@Module({
  imports: [ProcessingModule, MaintenanceWorkerModule, OutboundWorkerModule],
  providers: [InboundEventProcessor, QueueFiguresLogger],
})
export class WorkerModule {}
