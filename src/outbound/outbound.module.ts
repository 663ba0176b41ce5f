import { Module } from '@nestjs/common';
import { OperationsModule } from '../platform/operations/operations.module';
import { DeliveriesController } from './deliveries.controller';
import { EndpointService } from './endpoint.service';
import { EndpointsController } from './endpoints.controller';
import { EventsController } from './events/events.controller';
import { OutboundCoreModule } from './outbound-core.module';

/** The outbound webhooks API: endpoints and bulk retries (ops), events (publisher, ops). */
@Module({
  imports: [OutboundCoreModule, OperationsModule],
  controllers: [EndpointsController, EventsController, DeliveriesController],
  providers: [EndpointService],
})
export class OutboundModule {}
