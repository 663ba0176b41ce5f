import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../platform/config/app-config';
import { PeriodicPass } from '../../platform/periodic-pass';
import { RedisConnections } from '../../platform/redis/redis-connections';
import { InboundEventRepository, QueueableEvent } from '../store/inbound-event.repository';
import { BacklogMonitor } from './backlog-monitor';
import { InboundEventProducer } from './inbound-event.producer';
import { RedisClient } from '../../platform/redis/redis-connection';

const PAGE = 500;

/**
 * The transactional-outbox relay. Events are committed to Postgres before the 200; this puts every
 * stored event on the queue eventually:
 * - events never enqueued (Redis was down, or the process died between commit and enqueue);
 * - every unfinished event when Redis has lost its data (restarted without persistence, flushed):
 *   detected by a marker key that only a completed sweep writes.
 * Re-adding is safe: the job id is the event id, and processing is idempotent in Postgres.
 * It never takes the backlog over INGEST_BACKLOG_LIMIT: a pass enqueues at most limit − backlog events.
 */
@Injectable()
export class EnqueueRelay extends PeriodicPass {
  /** Fail-fast: a pass while Redis is away gives up at once (and a shutdown does not wait for it). */
  private readonly redis: RedisClient;

  constructor(
    private readonly config: AppConfig,
    private readonly events: InboundEventRepository,
    private readonly producer: InboundEventProducer,
    private readonly backlog: BacklogMonitor,
    redis: RedisConnections,
  ) {
    super();
    this.redis = redis.failFast;
  }

  protected get intervalMs(): number {
    return this.config.relayIntervalMs;
  }

  protected async pass(): Promise<void> {
    const markerKey = `${this.config.queuePrefix}:relay:epoch`;
    await this.backlog.refresh();
    if ((await this.redis.get(markerKey)) === null) {
      const swept = await this.sweepUnfinished();
      await this.redis.set(markerKey, new Date().toISOString());
      if (swept > 0)
        this.logger.warn({ msg: 'queue state was missing in Redis: re-enqueued unfinished events', count: swept });
    }
    let enqueued = 0;
    for (;;) {
      const room = Math.min(PAGE, this.backlog.room());
      const batch = await this.events.findUnqueued(this.config.relayGraceMs, Math.max(room, 1));
      if (room === 0 && batch.length > 0) {
        this.backlog.setHolding(true);
        break;
      }
      if (batch.length > 0) {
        this.backlog.admit(batch.length);
        await this.producer.addAndMark(batch);
        enqueued += batch.length;
      }
      if (batch.length < room || batch.length === 0) {
        // Held events younger than the grace period are still held: only an empty table ends degraded mode.
        if (this.backlog.state().holding) this.backlog.setHolding((await this.events.findUnqueued(0, 1)).length > 0);
        break;
      }
    }
    if (enqueued > 0) this.logger.log({ msg: 'relay enqueued stored events', count: enqueued });
  }

  private async sweepUnfinished(): Promise<number> {
    let afterId: string | null = null;
    let total = 0;
    for (;;) {
      const batch = await this.events.findUnfinished(afterId, PAGE);
      if (batch.length === 0) return total;
      // Those without a job: enqueued within the backlog limit, the rest left un-queued for later passes.
      const missing = await this.withoutJobs(batch);
      const admitted = this.backlog.admit(missing.length);
      await this.producer.addAndMark(missing.slice(0, admitted));
      await this.events.markUnqueued(missing.slice(admitted).map((event) => event.id));
      total += missing.length;
      afterId = batch[batch.length - 1].id;
    }
  }

  /** The events whose job is not in Redis (one pipelined round trip). */
  private async withoutJobs(events: readonly QueueableEvent[]): Promise<QueueableEvent[]> {
    const pipeline = this.redis.pipeline();
    for (const event of events) pipeline.exists(this.producer.queue.toKey(event.id));
    const results = (await pipeline.exec()) ?? [];
    return events.filter((_, index) => results[index]?.[1] === 0);
  }
}
