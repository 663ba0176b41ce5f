import { Injectable, Logger } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { setTimeout as sleep } from 'node:timers/promises';
import { MessageStoredListener, StoredMessage } from '../../inbound/processing/message-stored.port';
import { GroupCommit } from '../../platform/database/group-commit';
import { currentTraceParent } from '../../platform/tracing/tracing';
import { OutboundEventType } from './event-types';
import { OutboundEventPublisher } from './outbound-event.publisher';
import { SubscriptionCheck } from '../endpoints/subscription-check';

const RETRIES = 3;

/** The idempotency key of the event published about an inbound event (erasure deletes it by this key). */
export function messageStoredKey(eventId: string): string {
  return `instagram.message.received:${eventId}`;
}

/**
 * Tells subscribers an Instagram message arrived (`instagram.message.received`): ids and timing only, never
 * the text or attachments. Keyed by the inbound event, so re-processing the same event publishes it once.
 * Other channels' messages publish nothing (yet).
 */
@Injectable()
export class MessageStoredPublisher extends MessageStoredListener {
  private readonly logger = new Logger(MessageStoredPublisher.name);
  /** Inbound events published by this process: a job re-run (reply pacing defers often) skips the trigger. */
  private readonly published = new LRUCache<string, true>({ max: 10_000 });

  /** Messages processed at the same time share one statement and one `addBulk` (group commit). */
  private readonly batch = new GroupCommit<StoredMessage & { traceParent: string | null }, void>(
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
          idempotencyKey: messageStoredKey(message.eventId),
          correlationId: message.correlationId,
          traceParent: message.traceParent,
        })),
      );
      return messages.map(() => undefined);
    },
    { name: 'outbound.instagram-bridge', maxBatchWeight: 200, maxInFlight: 2, maxPending: 10_000 },
  );

  constructor(
    private readonly publisher: OutboundEventPublisher,
    private readonly subscriptions: SubscriptionCheck,
  ) {
    super();
  }

  /**
   * Publishes, trying again shortly on a failure. It never throws: the inbound event may be marked
   * processed by the time this settles, and a failure must not turn a processed message into a failed one.
   */
  async messageStored(message: StoredMessage): Promise<void> {
    if (message.provider !== 'instagram' || this.published.has(message.eventId)) return;
    if (!(await this.subscriptions.anyFor(OutboundEventType.InstagramMessageReceived).catch(() => true))) return;
    // The processing job's trace, taken here: the batch runs in whichever job's context filled it first.
    const traced = { ...message, traceParent: currentTraceParent() };
    for (let attempt = 1; ; attempt++) {
      try {
        await this.batch.submit(traced);
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
    this.published.set(message.eventId, true);
  }
}
