import { Module } from '@nestjs/common';
import { DeliveryClient } from './delivery.client';
import { DeliveryProcessor } from './delivery.processor';
import { DeliveryService } from './delivery.service';
import { EndpointStats } from './endpoint-stats';
import { OutboundCoreModule } from './outbound-core.module';

/** The outbound delivery consumer. Only a process that imports this module sends webhooks. */
@Module({
  imports: [OutboundCoreModule],
  providers: [DeliveryProcessor, DeliveryService, DeliveryClient, EndpointStats],
})
export class OutboundWorkerModule {}
