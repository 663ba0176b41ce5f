import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../platform/config/app-config';
import { MetricsService } from '../../platform/metrics/metrics.service';
import { GraphSendClient } from '../meta/graph-send-client';
import { OutgoingText, SendResult } from '../channel-provider';

/** The Messenger Send API (`POST {graph}/me/messages` with a Page access token). */
@Injectable()
export class FacebookClient extends GraphSendClient {
  readonly provider = 'facebook';

  constructor(
    private readonly config: AppConfig,
    metrics?: MetricsService,
  ) {
    super(
      {
        graphUrl: config.facebook.graphUrl,
        timeoutMs: config.facebook.timeoutMs,
        connections: Math.max(8, config.workers.concurrency),
      },
      metrics,
    );
  }

  async sendText({ recipientId, text, accessToken, tag }: OutgoingText): Promise<SendResult> {
    const { status, body } = await this.post<{ message_id?: unknown }>({
      path: '/me/messages',
      token: accessToken ?? this.config.facebook.pageAccessToken,
      tokenVariable: 'FACEBOOK_PAGE_ACCESS_TOKEN',
      // The auto-reply answers a message the person just sent, inside the 24-hour window; a tagged one goes later.
      body: tag
        ? { recipient: { id: recipientId }, messaging_type: 'MESSAGE_TAG', tag, message: { text } }
        : { recipient: { id: recipientId }, messaging_type: 'RESPONSE', message: { text } },
    });
    return { providerMessageId: typeof body?.message_id === 'string' ? body.message_id : null, httpStatus: status };
  }
}
