import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { InboundEventRepository } from '../idempotency/inbound-event.repository';
import { InboundEventProducer } from './inbound-event.producer';

const PAGE = 500;

/**
 * The transactional-outbox relay. Events are committed to Postgres before the 200; this puts every
 * stored event on the queue eventually:
 * - events never enqueued (Redis was down, or the process died between commit and enqueue);
 * - every unfinished event when Redis has lost its data (restarted without persistence, flushed):
 *   detected by a marker key that only a completed sweep writes.
 * Re-adding is safe: the job id is the event id, and processing is idempotent in Postgres.
 */
@Injectable()
export class EnqueueRelay implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(EnqueueRelay.name);
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(
    private readonly config: AppConfig,
    private readonly events: InboundEventRepository,
    private readonly producer: InboundEventProducer,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.runOnce(), this.config.relayIntervalMs);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One pass; concurrent calls share it. */
  runOnce(): Promise<void> {
    this.running ??= this.pass()
      .catch((error: unknown) => this.logger.debug({ msg: 'relay pass skipped', error: (error as Error)?.message }))
      .finally(() => (this.running = undefined));
    return this.running;
  }

  private async pass(): Promise<void> {
    const redis = await this.producer.queue.getBackend().client;
    const markerKey = `${this.config.queuePrefix}:relay:epoch`;
    if ((await redis.get(markerKey)) === null) {
      const swept = await this.sweepUnfinished();
      await redis.set(markerKey, new Date().toISOString());
      if (swept > 0)
        this.logger.warn({ msg: 'queue state was missing in Redis: re-enqueued unfinished events', count: swept });
    }
    let enqueued = 0;
    for (;;) {
      const batch = await this.events.findUnqueued(this.config.relayGraceMs, PAGE);
      if (batch.length === 0) break;
      await this.producer.addAndMark(batch);
      enqueued += batch.length;
      if (batch.length < PAGE) break;
    }
    if (enqueued > 0) this.logger.log({ msg: 'relay enqueued stored events', count: enqueued });
  }

  private async sweepUnfinished(): Promise<number> {
    let afterId: string | null = null;
    let total = 0;
    for (;;) {
      const batch = await this.events.findUnfinished(afterId, PAGE);
      if (batch.length === 0) return total;
      await this.producer.addAndMark(batch);
      total += batch.length;
      afterId = batch[batch.length - 1].id;
    }
  }
}
