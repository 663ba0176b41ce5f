import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../platform/config/app-config';
import { MetricsService } from '../../platform/metrics/metrics.service';
import { GraphSendClient } from '../meta/graph-send-client';
import { OutgoingText, SendResult } from '../channel-provider';

/** The Instagram Send API (`POST {graph}/me/messages`). */
@Injectable()
export class InstagramClient extends GraphSendClient {
  readonly provider = 'instagram';

  constructor(
    private readonly config: AppConfig,
    metrics?: MetricsService,
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

  async sendText({ recipientId, text, accessToken, tag }: OutgoingText): Promise<SendResult> {
    const { status, body } = await this.post<{ message_id?: unknown }>({
      path: '/me/messages',
      token: accessToken ?? this.config.instagram.accessToken,
      tokenVariable: 'INSTAGRAM_ACCESS_TOKEN',
      body: tag
        ? { recipient: { id: recipientId }, messaging_type: 'MESSAGE_TAG', tag, message: { text } }
        : { recipient: { id: recipientId }, message: { text } },
    });
    return { providerMessageId: typeof body?.message_id === 'string' ? body.message_id : null, httpStatus: status };
  }
}
