import { Module } from '@nestjs/common';
import { InboundEventProcessor } from './inbound-event.processor';
import { ProcessingModule } from './processing.module';

/** The consumers. Only a process that imports this module takes jobs off the queues. */
@Module({
  imports: [ProcessingModule],
  providers: [InboundEventProcessor],
})
export class WorkerModule {}
