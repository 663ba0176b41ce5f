import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { QueueName } from '../../platform/queue/queue-names';
import { EventStoreModule } from '../store/event-store.module';
import { BacklogMonitor } from './backlog-monitor';
import { EnqueueRelay } from './enqueue-relay';
import { InboundEventProducer } from './inbound-event.producer';

/** The inbound queue: the webhook path's fail-fast producer, the outbox relay and the backlog monitor. */
@Module({
  imports: [EventStoreModule, BullModule.registerQueue({ name: QueueName.InboundEvents })],
  providers: [InboundEventProducer, EnqueueRelay, BacklogMonitor],
  exports: [BullModule, InboundEventProducer, EnqueueRelay, BacklogMonitor],
})
export class InboundQueueModule {}
