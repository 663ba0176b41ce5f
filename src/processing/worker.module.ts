import { Module } from '@nestjs/common';
import { MaintenanceWorkerModule } from '../maintenance/maintenance-worker.module';
import { OutboundWorkerModule } from '../outbound/outbound-worker.module';
import { QueueFiguresLogger } from '../metrics/queue-figures-logger';
import { InboundEventProcessor } from './inbound-event.processor';
import { ProcessingModule } from './processing.module';

/** The consumers. Only a process that imports this module takes jobs off the queues. */
@Module({
  imports: [ProcessingModule, MaintenanceWorkerModule, OutboundWorkerModule],
  providers: [InboundEventProcessor, QueueFiguresLogger],
})
export class WorkerModule {}
