import { Injectable, Logger } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { GroupCommit } from '../common/group-commit';
import { OutboundEventType } from './event-types';
import { OutboundEventPublisher } from './outbound-event.publisher';
import { SubscriptionCheck } from './subscription-check';

export interface ReceivedMessage {
  eventId: string;
  conversationId: string;
  accountId: string;
  senderId: string;
  occurredAt: Date;
  correlationId: string | null;
}

const RETRIES = 3;

/**
 * Tells subscribers an Instagram message arrived: ids and timing only, never the text or attachments.
 * Keyed by the inbound event, so re-processing the same event publishes it once.
 */
@Injectable()
export class InstagramMessageBridge {
  private readonly logger = new Logger(InstagramMessageBridge.name);
  /** Inbound events published by this process: a job re-run (reply pacing defers often) skips the trigger. */
  private readonly published = new Set<string>();

  /** Messages processed at the same time share one statement and one `addBulk` (group commit). */
  private readonly batch = new GroupCommit<ReceivedMessage, void>(
    async (messages) => {
      await this.publisher.publishMany(
        OutboundEventType.InstagramMessageReceived,
        messages.map((message) => ({
          data: {
            eventId: message.eventId,
            conversationId: message.conversationId,
            accountId: message.accountId,
            senderId: message.senderId,
            occurredAt: message.occurredAt.toISOString(),
          },
          idempotencyKey: `instagram.message.received:${message.eventId}`,
          correlationId: message.correlationId,
        })),
      );
      return messages.map(() => undefined);
    },
    { name: 'outbound.instagram-bridge', maxBatchWeight: 200, maxInFlight: 2, maxPending: 10_000 },
  );

  constructor(
    private readonly publisher: OutboundEventPublisher,
    private readonly subscriptions: SubscriptionCheck,
  ) {}

  /**
   * Publishes, trying again shortly on a failure. It never throws: the inbound event may be marked
   * processed by the time this settles, and a failure must not turn a processed message into a failed one.
   */
  async messageReceived(message: ReceivedMessage): Promise<void> {
    if (this.published.has(message.eventId)) return;
    if (!(await this.subscriptions.anyFor(OutboundEventType.InstagramMessageReceived).catch(() => true))) return;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.batch.submit(message);
        break;
      } catch (error) {
        if (attempt >= RETRIES) {
          this.logger.error({
            msg: 'could not publish instagram.message.received',
            eventId: message.eventId,
            correlationId: message.correlationId,
            error: (error as Error)?.name,
          });
          return;
        }
        await sleep(250 * attempt);
      }
    }
    if (this.published.size >= 10_000) this.published.clear();
    this.published.add(message.eventId);
  }
}
