import { BullModule } from '@nestjs/bullmq';
import { Global, Module } from '@nestjs/common';
import { QueueName } from '../platform/queue/queue-names';
import { DeliveryDispatcher } from './delivery/delivery.dispatcher';
import { DeliveryRepository } from './delivery/delivery.repository';
import { EndpointRepository } from './endpoints/endpoint.repository';
import { InstagramMessageBridge } from './events/instagram-message.bridge';
import { OutboundEventPublisher } from './events/outbound-event.publisher';
import { RateLimiter } from './delivery/rate-limiter';

/**
 * Publishing outbound events: stores, repositories, the dispatcher (a producer) and the shared rate limiter. Global so that any
 * part of the product (the inbound handler's bridge) can publish; consumers live in OutboundWorkerModule.
 */
import { SubscriptionCheck } from './endpoints/subscription-check';
@Global()
@Module({
  imports: [BullModule.registerQueue({ name: QueueName.OutboundDeliveries })],
  providers: [
    EndpointRepository,
    DeliveryRepository,
    DeliveryDispatcher,
    OutboundEventPublisher,
    InstagramMessageBridge,
    RateLimiter,
    SubscriptionCheck,
  ],
  exports: [
    EndpointRepository,
    DeliveryRepository,
    DeliveryDispatcher,
    OutboundEventPublisher,
    InstagramMessageBridge,
    RateLimiter,
    SubscriptionCheck,
  ],
})
export class OutboundCoreModule {}
