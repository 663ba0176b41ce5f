import { Injectable, Logger } from '@nestjs/common';
import { DeadLetterError } from '../../dead-letters/dead-letter.errors';
import {
  DeadLetterReplayer,
  ReceiptLetter,
  ReplayedEvent,
  ReplyWindow,
} from '../../dead-letters/dead-letter-replayer.port';
import { replyWindow } from '../processing/reply-policy';
import { DataCipher, sealedIn } from '../../platform/crypto/data-cipher';
import { ChannelProviders } from '../../providers/channel-providers';
import { readWebhookBody } from '../ingest/webhook-body';
import { VipSenders } from '../priority/vip-senders';
import { InboundEventProducer } from '../queue/inbound-event.producer';
import { EventRow } from '../store/event-store.sql';
import { ReplayedLetter, ReplayRepository } from './replay.repository';

/**
 * Sends dead-lettered events back through the normal processor and its idempotency: a reply already sent
 * is never sent again. A re-read malformed body is stored as a fresh delivery of it would be (VIP priority too).
 */
@Injectable()
export class InboundDeadLetterReplayer extends DeadLetterReplayer {
  private readonly logger = new Logger(InboundDeadLetterReplayer.name);

  constructor(
    private readonly replays: ReplayRepository,
    private readonly producer: InboundEventProducer,
    private readonly providers: ChannelProviders,
    private readonly vip: VipSenders,
    private readonly cipher: DataCipher,
  ) {
    super();
  }

  async replayEvents(ids: readonly string[], actor: string, bulkReplayId: string | null): Promise<ReplayedEvent[]> {
    const letters = await this.replays.markReplayed(ids, actor, bulkReplayId);
    const jobIds = await this.enqueue(letters, actor);
    return letters.map((letter, index) => ({ id: letter.id, eventId: letter.eventId, jobId: jobIds[index] }));
  }

  async replayReceipt(letter: ReceiptLetter, actor: string): Promise<string[] | null> {
    const provider = this.providers.get(letter.provider);
    if (!provider) {
      throw new DeadLetterError('conflict', 'this dead letter holds no event and no readable webhook body to replay');
    }
    const body = readWebhookBody(
      provider,
      this.cipher.decrypt(letter.sealedBody, sealedIn('webhook_receipts.body', letter.receiptId)),
      this.cipher,
    );
    if (body.parseError) {
      throw new DeadLetterError(
        'conflict',
        `the stored webhook body still cannot be read (${body.parseError}); there is no event to replay`,
      );
    }
    const correlationId = letter.correlationId ?? 'replay';
    const events: EventRow[] = body.events.map((event) => ({
      ...event,
      receiptId: letter.receiptId,
      provider: provider.name,
      correlationId,
      priority: this.vip.priorityOf(provider.name, event.senderId),
    }));
    const result = await this.replays.replayReceipt(
      { ...letter, provider: provider.name, correlationId },
      events,
      actor,
    );
    if (!result) return null;
    const priorities = new Map(events.map((event) => [event.id, event.priority]));
    // New events: job id = event id, and the relay enqueues them if Redis refuses now.
    await this.producer
      .addAndMark(result.insertedIds.map((eventId) => ({ id: eventId, priority: priorities.get(eventId) ?? 0 })))
      .catch(() => this.logger.warn({ msg: 'replayed events left for the relay to enqueue', deadLetterId: letter.id }));
    return result.insertedIds;
  }

  async requeueReplayed(ids: readonly string[]): Promise<number> {
    const letters = await this.replays.replayedUnprocessed(ids);
    await this.producer.addJobs(
      letters
        .filter((letter) => letter.unprocessed)
        .map((letter) => ({
          id: letter.eventId,
          priority: letter.priority,
          jobId: `${letter.eventId}-replay-${letter.replayCount}`,
        })),
    );
    return letters.length;
  }

  /** An auto-reply is never tagged: between 24 h and 7 days only a person can answer (POST /messages, HUMAN_AGENT). */
  async replyWindows(eventIds: readonly string[], at: Date): Promise<Map<string, ReplyWindow>> {
    const events = await this.replays.events(eventIds);
    return new Map(
      events.map((event) => [
        event.id,
        event.kind === 'message' ? replyWindow(event.provider, event.receivedAt, at) : 'no_reply',
      ]),
    );
  }

  async waitingJobs(): Promise<number> {
    const counts = await this.producer.queue.getJobCounts('waiting', 'prioritized');
    return (counts.waiting ?? 0) + (counts.prioritized ?? 0);
  }

  /**
   * New job ids (`<event>-replay-<n>`): the failed job keeps the event's id in BullMQ. If Redis refuses
   * the add, the replay is undone (the letters are pending again) and the caller gets a 503.
   */
  private async enqueue(letters: readonly ReplayedLetter[], actor: string): Promise<string[]> {
    const jobs = letters.map((letter) => ({
      id: letter.eventId,
      priority: letter.priority,
      jobId: `${letter.eventId}-replay-${letter.replayCount}`,
    }));
    try {
      await this.producer.addJobs(jobs);
    } catch {
      await this.replays.revertReplay(letters, actor);
      throw new DeadLetterError(
        'queue_unavailable',
        'the queue (Redis) is unavailable: nothing was replayed; try again later',
      );
    }
    return jobs.map((job) => job.jobId);
  }
}
