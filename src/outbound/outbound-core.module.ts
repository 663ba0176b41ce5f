import { BullModule } from '@nestjs/bullmq';
import { Global, Module } from '@nestjs/common';
import { QueueName } from '../queue/queue-names';
import { DeliveryDispatcher } from './delivery.dispatcher';
import { DeliveryRepository } from './delivery.repository';
import { EndpointRepository } from './endpoint.repository';
import { InstagramMessageBridge } from './instagram-message.bridge';
import { OutboundEventPublisher } from './outbound-event.publisher';
import { RateLimiter } from './rate-limiter';

/**
 * Publishing outbound events: stores, repositories, the dispatcher (a producer) and the shared rate limiter. Global so that any
 * part of the product (the inbound handler's bridge) can publish; consumers live in OutboundWorkerModule.
 */
import { SubscriptionCheck } from './subscription-check';
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
