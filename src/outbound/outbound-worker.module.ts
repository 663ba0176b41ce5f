import { Module } from '@nestjs/common';
import { DeliveryAdmission } from './delivery/delivery-admission';
import { DeliveryAttempt } from './delivery/delivery-attempt';
import { DeliveryMetrics } from './delivery/delivery-metrics';
import { DeliveryClient } from './delivery/delivery.client';
import { DeliveryOutcomes } from './delivery/delivery-outcomes';
import { DeliveryProcessor } from './delivery/delivery.processor';
import { DeliveryService } from './delivery/delivery.service';
import { EndpointStats } from './endpoints/endpoint-stats';
import { OutboundCoreModule } from './outbound-core.module';

/** The outbound delivery consumer. Only a process that imports this module sends webhooks. */
@Module({
  imports: [OutboundCoreModule],
  providers: [
    DeliveryProcessor,
    DeliveryService,
    DeliveryAdmission,
    DeliveryAttempt,
    DeliveryOutcomes,
    DeliveryClient,
    DeliveryMetrics,
    EndpointStats,
  ],
})
export class OutboundWorkerModule {}
