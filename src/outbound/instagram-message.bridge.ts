import { Injectable } from '@nestjs/common';
import { OutboundEventType } from './event-types';
import { OutboundEventPublisher } from './outbound-event.publisher';

export interface ReceivedMessage {
  eventId: string;
  conversationId: string;
  accountId: string;
  senderId: string;
  occurredAt: Date;
  correlationId: string | null;
}

/**
 * Tells subscribers an Instagram message arrived: ids and timing only, never the text or attachments.
 * Keyed by the inbound event, so re-processing the same event publishes it once.
 */
@Injectable()
export class InstagramMessageBridge {
  constructor(private readonly publisher: OutboundEventPublisher) {}

  async messageReceived(message: ReceivedMessage): Promise<void> {
    await this.publisher.publish({
      eventType: OutboundEventType.InstagramMessageReceived,
      data: {
        eventId: message.eventId,
        conversationId: message.conversationId,
        accountId: message.accountId,
        senderId: message.senderId,
        occurredAt: message.occurredAt.toISOString(),
      },
      publisher: 'system',
      idempotencyKey: `instagram.message.received:${message.eventId}`,
      correlationId: message.correlationId,
    });
  }
}
