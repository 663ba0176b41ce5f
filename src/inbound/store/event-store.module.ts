import { Module } from '@nestjs/common';
import { InboundEventRepository } from './inbound-event.repository';

/** The inbound event store: webhook receipts, their events and the enqueue outbox. */
@Module({
  providers: [InboundEventRepository],
  exports: [InboundEventRepository],
})
export class EventStoreModule {}
