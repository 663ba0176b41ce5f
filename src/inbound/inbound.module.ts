import { Module } from '@nestjs/common';
import { ProvidersModule } from '../providers/providers.module';
import { ProcessingModule } from './processing/processing.module';
import { VipSenders } from './priority/vip-senders';
import { WebhookIngestService } from './ingest/webhook-ingest.service';
import { WebhookRoute } from './http/webhook.route';
import { WebhooksController } from './http/webhooks.controller';

@Module({
  imports: [ProcessingModule, ProvidersModule],
  controllers: [WebhooksController],
  providers: [WebhookIngestService, VipSenders, WebhookRoute],
})
export class WebhooksModule {}
