import { Module } from '@nestjs/common';
import { DeliveryClient } from './delivery/delivery.client';
import { DeliveryProcessor } from './delivery/delivery.processor';
import { DeliveryService } from './delivery/delivery.service';
import { EndpointStats } from './endpoints/endpoint-stats';
import { OutboundCoreModule } from './outbound-core.module';

/** The outbound delivery consumer. Only a process that imports this module sends webhooks. */
@Module({
  imports: [OutboundCoreModule],
  providers: [DeliveryProcessor, DeliveryService, DeliveryClient, EndpointStats],
})
export class OutboundWorkerModule {}
