import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../platform/config/app-config';
import { MetricsService } from '../../platform/metrics/metrics.service';
import { GraphSendClient } from '../meta/graph-send-client';
import { OutgoingText, SendResult } from '../channel-provider';

interface CloudApiAnswer {
  messages?: { id?: unknown }[];
}

/** The WhatsApp Cloud API (`POST {graph}/{phone-number-id}/messages`); the account is the phone number id. */
@Injectable()
export class WhatsAppClient extends GraphSendClient {
  readonly provider = 'whatsapp';

  constructor(
    private readonly config: AppConfig,
    metrics?: MetricsService,
  ) {
    super(
      {
        graphUrl: config.whatsapp.graphUrl,
        timeoutMs: config.whatsapp.timeoutMs,
        connections: Math.max(8, config.workers.concurrency),
      },
      metrics,
    );
  }

  async sendText({ accountId, recipientId, text, accessToken }: OutgoingText): Promise<SendResult> {
    const { status, body } = await this.post<CloudApiAnswer>({
      path: `/${encodeURIComponent(accountId)}/messages`,
      token: accessToken ?? this.config.whatsapp.accessToken,
      tokenVariable: 'WHATSAPP_ACCESS_TOKEN',
      body: {
        messaging_product: 'whatsapp',
        recipient_type: 'individual',
        to: recipientId,
        type: 'text',
        text: { body: text },
      },
    });
    const id = Array.isArray(body?.messages) ? body.messages[0]?.id : undefined;
    return { providerMessageId: typeof id === 'string' ? id : null, httpStatus: status };
  }
}
