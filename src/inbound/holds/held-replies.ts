import { Injectable, Logger } from '@nestjs/common';
import { WAKE_EARLY_MS } from '../../platform/redis/gcra';
import { HeldCount, HeldReplyRepository } from '../processing/held-reply.repository';
import { SendPacer } from '../processing/send-pacer';
import { InboundEventProducer } from '../queue/inbound-event.producer';

/** Held replies given their send slots per round trip (and per transaction). */
const RELEASE_BATCH = 200;

/**
 * Replies held while their account is paused or needs a token live in Postgres (`replies.status = held`),
 * not in parked jobs: they survive restarts and a Redis without its data. Releasing an account gives each
 * held reply the next send slot of the account's pacing, in arrival order, and queues its event's job for
 * that slot; the job sends it through the usual reply state machine (at most once).
 */
@Injectable()
export class HeldReplies {
  private readonly logger = new Logger(HeldReplies.name);

  constructor(
    private readonly repository: HeldReplyRepository,
    private readonly pacer: SendPacer,
    private readonly producer: InboundEventProducer,
  ) {}

  countsByAccount(): Promise<HeldCount[]> {
    return this.repository.countsByAccount();
  }

  /**
   * Sends the held replies of an account that no longer holds them (resumed, or given a new token). Returns
   * how many were released; 0 also when another process is releasing the account right now.
   */
  async release(provider: string, accountId: string): Promise<number> {
    let total = 0;
    for (;;) {
      const released = await this.repository.releaseBatch(provider, accountId, RELEASE_BATCH, (count) =>
        this.reserveSlots(provider, accountId, count),
      );
      if (released === null || released.length === 0) break;
      total += released.length;
      await this.producer
        .addJobs(
          released.map((reply) => ({
            id: reply.eventId,
            priority: reply.priority,
            jobId: `${reply.eventId}-release-${reply.releases}`,
            notBefore: reply.notBefore.getTime() - WAKE_EARLY_MS,
          })),
        )
        // Still held in Postgres: released again once their slots are long past (HeldReplySweeper).
        .catch((error: unknown) =>
          this.logger.warn({
            msg: 'could not queue released replies; they are released again later',
            provider,
            accountId,
            count: released.length,
            error: (error as Error)?.name,
          }),
        );
      if (released.length < RELEASE_BATCH) break;
    }
    if (total > 0) this.logger.log({ msg: 'held replies released', provider, accountId, count: total });
    return total;
  }

  /** Releases every account that holds no more but still has replies waiting (a release that did not finish). */
  async releaseDue(): Promise<number> {
    let total = 0;
    for (const { provider, accountId } of await this.repository.releasable(100)) {
      total += await this.release(provider, accountId);
    }
    return total;
  }

  /** `count` consecutive send slots of the account, in order: one connection runs the reservations in order. */
  private async reserveSlots(provider: string, accountId: string, count: number): Promise<Date[]> {
    const slots = await Promise.all(Array.from({ length: count }, () => this.pacer.reserve(provider, accountId)));
    return slots.map(({ slotAt }) => new Date(slotAt));
  }
}
