import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { QueueName } from '../platform/queue/queue-names';
import { DeliveryDispatcher } from './delivery/delivery.dispatcher';
import { DeliveryRetryOperation } from './delivery/delivery-retry.operation';
import { DeliveryRepository } from './delivery/delivery.repository';
import { EndpointRepository } from './endpoints/endpoint.repository';
import { AccountNoticesPublisher } from './events/account-notices.publisher';
import { OperationalEventsPublisher } from './events/operational-events.publisher';
import { MessageStoredPublisher } from './events/message-stored.publisher';
import { OutboundEventPublisher } from './events/outbound-event.publisher';
import { RateLimiter } from './delivery/rate-limiter';
import { SubscriptionCheck } from './endpoints/subscription-check';

/**
 * Publishing outbound events: stores, repositories, the dispatcher (a producer), the shared rate limiter and
 * the bulk retry (an operation kind). MessageStoredPublisher is what inbound processing tells of stored
 * messages, AccountNoticesPublisher what the accounts room tells. Consumers live in OutboundWorkerModule.
 */
@Module({
  imports: [BullModule.registerQueue({ name: QueueName.OutboundDeliveries })],
  providers: [
    EndpointRepository,
    DeliveryRepository,
    DeliveryDispatcher,
    OutboundEventPublisher,
    MessageStoredPublisher,
    RateLimiter,
    SubscriptionCheck,
    OperationalEventsPublisher,
    DeliveryRetryOperation,
    AccountNoticesPublisher,
  ],
  exports: [
    OperationalEventsPublisher,
    EndpointRepository,
    DeliveryRepository,
    DeliveryDispatcher,
    OutboundEventPublisher,
    MessageStoredPublisher,
    AccountNoticesPublisher,
    RateLimiter,
    SubscriptionCheck,
    DeliveryRetryOperation,
  ],
})
export class OutboundCoreModule {}
