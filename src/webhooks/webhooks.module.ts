import { Module } from '@nestjs/common';
import { ProcessingModule } from '../processing/processing.module';
import { VipSenders } from './vip-senders';
import { WebhookIngestService } from './webhook-ingest.service';
import { WebhookRoute } from './webhook.route';
import { WebhooksController } from './webhooks.controller';

@Module({
  imports: [ProcessingModule],
  controllers: [WebhooksController],
  providers: [WebhookIngestService, VipSenders, WebhookRoute],
})
export class WebhooksModule {}
