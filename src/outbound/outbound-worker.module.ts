import { Module } from '@nestjs/common';
import { DeliveryClient } from './delivery.client';
import { DeliveryProcessor } from './delivery.processor';
import { DeliveryService } from './delivery.service';
import { EndpointStats } from './endpoint-stats';
import { OutboundCoreModule } from './outbound-core.module';
import { RateLimiter } from './rate-limiter';

/** The outbound delivery consumer. Only a process that imports this module sends webhooks. */
@Module({
  imports: [OutboundCoreModule],
  providers: [DeliveryProcessor, DeliveryService, DeliveryClient, RateLimiter, EndpointStats],
})
export class OutboundWorkerModule {}
