import { Injectable, Optional } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { MetricsService } from '../metrics/metrics.service';
import { GraphSendClient } from '../processing/graph-send-client';
import { OutgoingText, SendResult } from '../processing/reply-client';

/** The Instagram Send API (`POST {graph}/me/messages`). */
@Injectable()
export class InstagramClient extends GraphSendClient {
  readonly provider = 'instagram';

  constructor(
    private readonly config: AppConfig,
    @Optional() metrics?: MetricsService,
  ) {
    super(
      {
        graphUrl: config.instagram.graphUrl,
        timeoutMs: config.instagram.timeoutMs,
        connections: Math.max(8, config.workers.concurrency),
      },
      metrics,
    );
  }

  async sendText({ recipientId, text }: OutgoingText): Promise<SendResult> {
    const { status, body } = await this.post<{ message_id?: unknown }>({
      path: '/me/messages',
      token: this.config.instagram.accessToken,
      tokenVariable: 'INSTAGRAM_ACCESS_TOKEN',
      body: { recipient: { id: recipientId }, message: { text } },
    });
    return { providerMessageId: typeof body?.message_id === 'string' ? body.message_id : null, httpStatus: status };
  }
}
