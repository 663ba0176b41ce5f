import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { Queue } from 'bullmq';
import { GroupCommit } from '../../platform/database/group-commit';
import { AppConfig } from '../../platform/config/app-config';
import { InboundEventRepository, QueueableEvent } from '../store/inbound-event.repository';
import { BACKOFF_TYPE, JobName, ProcessInboundEventJob, QueueName } from '../../platform/queue/queue-names';
import { RedisConnections } from '../../platform/redis/redis-connections';
import { settlesWithin } from '../../platform/time/within';
import { jobTraceMetadata, queueTelemetry } from '../../platform/tracing/tracing';

/**
 * Hands stored events to BullMQ. Concurrent requests share one `addBulk` and one outbox delete.
 * It never throws to the webhook path: what it cannot enqueue stays un-queued in Postgres for the relay.
 */
@Injectable()
export class InboundEventProducer implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(InboundEventProducer.name);
  readonly queue: Queue<ProcessInboundEventJob>;
  private readonly batcher: GroupCommit<QueueableEvent, boolean>;
  private lastFailureLog = 0;
  private inProgress = 0;

  constructor(
    private readonly config: AppConfig,
    private readonly events: InboundEventRepository,
    redis: RedisConnections,
  ) {
    this.queue = new Queue<ProcessInboundEventJob>(QueueName.InboundEvents, {
      connection: redis.failFast,
      prefix: config.queuePrefix,
      telemetry: queueTelemetry(),
    });
    this.queue.on('error', () => undefined); // connection errors surface as failed adds; readiness reports Redis
    this.batcher = new GroupCommit<QueueableEvent, boolean>(
      async (batch) => {
        const ok = await this.addAndMarkNow(batch).then(
          () => true,
          (error: unknown) => {
            this.logEnqueueFailure(error, batch.length);
            return false;
          },
        );
        return batch.map(() => ok);
      },
      { name: 'enqueue', maxBatchWeight: 1000, maxInFlight: 2, maxPending: 50_000 },
    );
  }

  /**
   * Events handed to `enqueue` or `addAndMark` whose jobs may not be in Redis yet: a count of the queue
   * taken meanwhile can miss them (flood protection adds them to it).
   */
  get adding(): number {
    return this.inProgress;
  }

  /** Enqueues the events; resolves to false (never rejects) when Redis is unavailable. */
  async enqueue(events: readonly QueueableEvent[]): Promise<boolean> {
    // The request's trace, captured here: the job is added later, in a batch shared with other requests.
    const traceMetadata = jobTraceMetadata();
    if (traceMetadata) events = events.map((event) => ({ ...event, traceMetadata }));
    return this.counted(events.length, async () => {
      // At its bound the batcher refuses at once: those events stay in the outbox, for the relay.
      const results = await Promise.all(events.map((event) => this.batcher.submit(event).catch(() => false)));
      return results.every(Boolean);
    });
  }

  /** Adds jobs (job id = event id, so a second add of a live job is a no-op) and records them as queued. */
  addAndMark(events: readonly QueueableEvent[]): Promise<void> {
    return this.counted(events.length, () => this.addAndMarkNow(events));
  }

  private async addAndMarkNow(events: readonly QueueableEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.addJobs(events);
    await this.events.markQueued(events.map((event) => event.id));
  }

  private async counted<T>(count: number, add: () => Promise<T>): Promise<T> {
    this.inProgress += count;
    try {
      return await add();
    } finally {
      this.inProgress -= count;
    }
  }

  /** Adds jobs only (for callers that have already recorded the events as queued, like a replay). */
  async addJobs(events: readonly QueueableEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.queue.addBulk(
      events.map((event) => ({
        name: JobName.ProcessInboundEvent,
        data: { eventId: event.id },
        opts: {
          jobId: event.jobId ?? event.id,
          ...(event.notBefore !== undefined ? { delay: Math.max(0, event.notBefore - Date.now()) } : {}),
          telemetry: event.traceMetadata ? { metadata: event.traceMetadata } : undefined,
          // BullMQ takes plain waiting jobs before prioritized ones, so a VIP job jumps the line with lifo.
          lifo: event.priority > 0,
          attempts: this.config.retry.maxAttempts,
          backoff: { type: BACKOFF_TYPE, delay: this.config.retry.baseDelayMs },
          removeOnComplete: { age: 3600, count: 10_000 },
          removeOnFail: { age: 7 * 24 * 3600 },
        },
      })),
    );
  }

  private logEnqueueFailure(error: unknown, count: number): void {
    const now = Date.now();
    if (now - this.lastFailureLog < 5000) return;
    this.lastFailureLog = now;
    this.logger.warn({
      msg: 'could not enqueue stored events; the relay will enqueue them when Redis is back',
      count,
      error: error instanceof Error ? error.message.slice(0, 200) : 'error',
    });
  }

  /** Connect now: a fail-fast client that is still connecting would refuse the first webhook's jobs. */
  async onModuleInit(): Promise<void> {
    await settlesWithin(this.queue.waitUntilReady(), 3000);
  }

  async onModuleDestroy(): Promise<void> {
    await this.queue.close().catch(() => undefined);
  }
}
