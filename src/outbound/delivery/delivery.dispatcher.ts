import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { JobsOptions, Queue } from 'bullmq';
import { AppConfig } from '../../platform/config/app-config';
import { GroupCommit } from '../../platform/database/group-commit';
import { RedisConnections } from '../../platform/redis/redis-connections';
import { DeliverOutboundBatchJob, DeliverOutboundJob, JobName, QueueName } from '../../platform/queue/queue-names';
import { DeliveryRepository, DispatchableEvent } from './delivery.repository';
import { dueIn } from './delivery-outcome';
import { queuePriority } from './priority';

const PAGE = 1000;
/** Deliveries per batch job: the queue's cost per job is shared by this many deliveries. */
const BATCH = 100;

/** Job id of a delivery's n-th queueing: re-adding the same one is a no-op while it is on the queue. */
export function deliveryJobId(deliveryId: string, requeues: number): string {
  return `d${deliveryId}-${requeues}`;
}

/** A batch is named by its first delivery: pages (and so batches) are the same when the relay resumes. */
export function batchJobId(firstDeliveryId: string): string {
  return `b${firstDeliveryId}`;
}

/** A delivery put on the queue on its own (recover, single retry, or handed off by its batch to wait). */
export interface QueuedDelivery {
  id: string;
  requeues: number;
  priority: number;
  delayMs?: number;
  slotAt?: number;
  busy?: number;
}

type OutboundQueue = Queue<DeliverOutboundJob | DeliverOutboundBatchJob>;

/**
 * Streams an event's deliveries onto the queue, a page at a time (`addBulk` of batch jobs), so memory
 * stays flat whatever the fan-out. Progress is saved per page; a relay resumes events a dead process left half-way.
 */
@Injectable()
export class DeliveryDispatcher implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(DeliveryDispatcher.name);
  private readonly running = new Map<string, Promise<void>>();
  private timer?: NodeJS.Timeout;
  private sweeping?: Promise<void>;
  private closing = false;
  /** Single-delivery jobs added in the same tick share one `addBulk`. */
  private readonly singles: GroupCommit<QueuedDelivery, void>;

  constructor(
    private readonly config: AppConfig,
    private readonly deliveries: DeliveryRepository,
    @InjectQueue(QueueName.OutboundDeliveries) readonly queue: OutboundQueue,
    private readonly redis: RedisConnections,
  ) {
    this.singles = new GroupCommit<QueuedDelivery, void>(
      async (batch) => {
        await this.queue.addBulk(
          batch.map((delivery) => ({
            name: JobName.DeliverOutbound,
            data: { deliveryId: delivery.id, slotAt: delivery.slotAt, busy: delivery.busy },
            opts: this.jobOptions(
              deliveryJobId(delivery.id, delivery.requeues),
              delivery.priority,
              delivery.delayMs ?? 0,
            ),
          })),
        );
        return batch.map(() => undefined);
      },
      { name: 'outbound.enqueue', maxBatchWeight: 500, maxInFlight: 2, maxPending: 50_000 },
    );
  }

  onApplicationBootstrap(): void {
    this.queue.on('error', () => undefined);
    // At once: a Redis that lost its jobs while this process was down is noticed before it dispatches.
    void this.sweep();
    this.timer = setInterval(() => void this.sweep(), this.config.relayIntervalMs);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    this.closing = true;
    clearInterval(this.timer);
    await Promise.allSettled([this.sweeping, ...this.running.values()]);
  }

  /** Starts dispatching in the background; failures are left to the relay. */
  dispatch(event: DispatchableEvent): Promise<void> {
    let run = this.running.get(event.id);
    if (!run) {
      run = this.stream(event)
        .catch((error: unknown) =>
          this.logger.warn({
            msg: 'dispatch interrupted; the relay will resume it',
            eventId: event.id,
            error: (error as Error)?.name,
          }),
        )
        .finally(() => this.running.delete(event.id));
      this.running.set(event.id, run);
    }
    return run;
  }

  /**
   * Queues the deliveries of many small events at once (the publisher already has their ids): batch jobs
   * shared across events, one `addBulk`, one dispatched mark. A crash between the two leaves the events to
   * the relay, which queues them again; a delivery already sent is skipped, one in flight may be sent twice
   * (delivery is at least once; subscribers de-duplicate on webhook-id).
   */
  async queueDeliveries(
    events: readonly { id: string; deliveryIds: readonly string[] }[],
    priority: number,
  ): Promise<void> {
    const jobs = this.batchJobs(
      events.flatMap((event) => event.deliveryIds),
      priority,
      this.config.outbound.retryScheduleMs[0] ?? 0,
    );
    if (jobs.length > 0) await this.queue.addBulk(jobs);
    await this.deliveries.markDispatched(events.map((event) => event.id));
  }

  /**
   * Queues deliveries one job each: reset to pending (recover, single retry), or handed off by their batch
   * (to wait for a slot or a retry). The job id de-duplicates a delivery handed off twice.
   */
  async enqueue(deliveries: readonly QueuedDelivery[]): Promise<void> {
    await Promise.all(deliveries.map((delivery) => this.singles.submit(delivery)));
  }

  private async stream(event: DispatchableEvent): Promise<void> {
    const delay = Math.max(
      this.config.outbound.retryScheduleMs[0] ?? 0,
      event.deliverAt ? event.deliverAt.getTime() - Date.now() : 0,
    );
    let cursor = event.dispatchCursor;
    for (;;) {
      if (this.closing) return;
      const ids = await this.deliveries.deliveryPage(event.id, cursor, PAGE);
      if (ids.length > 0) {
        await this.queue.addBulk(this.batchJobs(ids, event.priority, delay));
        cursor = ids[ids.length - 1];
      }
      const done = ids.length < PAGE;
      await this.deliveries.markDispatchProgress(event.id, cursor, done);
      if (done) return;
    }
  }

  /** Batch jobs of up to BATCH deliveries each, in the order given, each named by its first delivery. */
  private batchJobs(ids: readonly string[], priority: number, delay: number) {
    const jobs = [];
    for (let i = 0; i < ids.length; i += BATCH) {
      const deliveryIds = ids.slice(i, i + BATCH);
      jobs.push({
        name: JobName.DeliverOutboundBatch,
        data: { deliveryIds },
        opts: this.jobOptions(batchJobId(deliveryIds[0]), priority, delay),
      });
    }
    return jobs;
  }

  private jobOptions(jobId: string, priority: number, delay: number): JobsOptions {
    return {
      jobId,
      priority: queuePriority(priority),
      delay: delay > 0 ? delay : undefined,
      // Our own retry schedule delays the job; these attempts only cover infrastructure errors (Postgres down).
      attempts: 5,
      backoff: { type: 'exponential', delay: 1000 },
      removeOnComplete: { age: 3600, count: 10_000 },
      removeOnFail: { age: 7 * 24 * 3600 },
    };
  }

  /** One pass of the relay; concurrent calls share it. */
  private sweep(): Promise<void> {
    this.sweeping ??= (async () => {
      await this.recoverLostJobs();
      for (const event of await this.deliveries.findUndispatched(this.config.relayGraceMs, 100)) {
        if (this.closing) return;
        await this.dispatch(event);
      }
    })()
      .catch(() => undefined)
      .finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  /**
   * When Redis has lost its data (restarted without persistence, flushed), the jobs of dispatched events
   * are gone while their deliveries are still pending in Postgres. A marker key that only a completed pass
   * writes tells: when it is missing, every pending delivery of an event dispatched before now gets a job
   * of its own again, delayed until its next attempt was due. A delivery whose job did survive keeps it
   * (same job id); one also in a batch queued since the loss may be sent twice (delivery is at least once).
   */
  private async recoverLostJobs(): Promise<void> {
    const redis = this.redis.commands;
    const marker = `${this.config.queuePrefix}:outbound:epoch`;
    if ((await redis.get(marker)) !== null) return;
    const before = new Date();
    let afterId = '0';
    let requeued = 0;
    for (;;) {
      if (this.closing) return;
      const page = await this.deliveries.pendingOfDispatched(before, afterId, PAGE);
      if (page.length === 0) break;
      const now = Date.now();
      await this.enqueue(
        page.map((delivery) => ({
          id: delivery.id,
          requeues: delivery.requeues,
          priority: delivery.priority,
          delayMs: dueIn(this.config.outbound.retryScheduleMs, delivery, now),
        })),
      );
      requeued += page.length;
      afterId = page[page.length - 1].id;
    }
    await redis.set(marker, before.toISOString());
    if (requeued > 0) {
      this.logger.warn({ msg: 'outbound jobs were missing in Redis: re-queued pending deliveries', count: requeued });
    }
  }
}
