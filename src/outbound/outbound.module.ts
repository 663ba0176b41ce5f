import { Module } from '@nestjs/common';
import { EndpointService } from './endpoint.service';
import { EndpointsController } from './endpoints.controller';
import { EventsController } from './events/events.controller';
import { OutboundCoreModule } from './outbound-core.module';

/** The outbound webhooks API: endpoints (ops) and events (publisher, ops). */
@Module({
  imports: [OutboundCoreModule],
  controllers: [EndpointsController, EventsController],
  providers: [EndpointService],
})
export class OutboundModule {}
