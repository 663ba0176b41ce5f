import { DynamicModule, Module } from '@nestjs/common';
import { HeldReplySweeper } from './holds/held-reply-sweeper';
import { HoldsModule } from './holds/holds.module';
import { InboundPorts } from './inbound-ports';
import { InboundEventProcessor } from './processing/inbound-event.processor';
import { ProcessingModule } from './processing/processing.module';
import { InboundQueueModule } from './queue/inbound-queue.module';

/**
 * The inbound consumer, and the sweeper that releases held replies. Only a process that imports this module
 * takes inbound events off the queue.
 */
@Module({})
export class InboundWorkerModule {
  static register(ports: InboundPorts): DynamicModule {
    return {
      module: InboundWorkerModule,
      imports: [InboundQueueModule, ProcessingModule.register(ports), HoldsModule],
      providers: [InboundEventProcessor, HeldReplySweeper],
    };
  }
}
