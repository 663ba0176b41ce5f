import { DynamicModule, Module } from '@nestjs/common';
import { AppConfig } from '../platform/config/app-config';
import { ProvidersModule } from '../providers/providers.module';
import { WebhookRoute } from './http/webhook.route';
import { WebhooksController } from './http/webhooks.controller';
import { InboundPorts } from './inbound-ports';
import { WebhookIngestService } from './ingest/webhook-ingest.service';
import { PriorityModule } from './priority/priority.module';
import { ProcessingModule } from './processing/processing.module';
import { BullMqEventDriver } from './queue/bullmq-event.driver';
import { InboundEventQueue } from './queue/inbound-event.queue';
import { InboundQueueModule } from './queue/inbound-queue.module';
import { InlineEventDriver } from './queue/inline-event.driver';
import { EventStoreModule } from './store/event-store.module';

/** The webhook side of the API process: the route and handshake, ingest, and where stored events go. */
@Module({})
export class InboundModule {
  static register(ports: InboundPorts): DynamicModule {
    return {
      module: InboundModule,
      imports: [
        ProvidersModule,
        EventStoreModule,
        InboundQueueModule,
        PriorityModule,
        ProcessingModule.register(ports),
      ],
      controllers: [WebhooksController],
      providers: [
        WebhookIngestService,
        WebhookRoute,
        BullMqEventDriver,
        InlineEventDriver,
        {
          provide: InboundEventQueue,
          inject: [AppConfig, BullMqEventDriver, InlineEventDriver],
          useFactory: (config: AppConfig, queued: BullMqEventDriver, inline: InlineEventDriver) =>
            config.useQueue ? queued : inline,
        },
      ],
    };
  }
}
