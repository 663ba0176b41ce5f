import { Processor } from '@nestjs/bullmq';
import { BeforeApplicationShutdown, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { DelayedError, Job, UnrecoverableError } from 'bullmq';
import { QueueWorkerHost } from '../../platform/queue/queue-worker-host';
import { classifyUnexpected } from '../../platform/failure';
import { AppConfig } from '../../platform/config/app-config';
import { Sql } from '../../platform/database/sql';
import { DeliverOutboundBatchJob, DeliverOutboundJob, JobName, QueueName } from '../../platform/queue/queue-names';
import { BatchOutcome, DeliveryService } from './delivery.service';

/**
 * The outbound delivery consumer: batch jobs (an event's deliveries, from the dispatcher) and single
 * ones. A single job that must wait (rate limit, endpoint busy, next retry) is moved back to the delayed
 * set, never failed: waiting costs no attempt, and a slow endpoint's jobs do not hold worker slots while
 * they wait. A batch hands such deliveries off to single jobs.
 */
@Processor(QueueName.OutboundDeliveries)
export class DeliveryProcessor extends QueueWorkerHost implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(DeliveryProcessor.name);

  constructor(
    private readonly deliveries: DeliveryService,
    private readonly config: AppConfig,
    private readonly sql: Sql,
  ) {
    super();
  }

  onApplicationBootstrap(): void {
    this.worker.concurrency = this.config.outbound.workerConcurrency;
  }

  async process(
    job: Job<DeliverOutboundJob | DeliverOutboundBatchJob>,
    token?: string,
  ): Promise<string | BatchOutcome> {
    if (job.name === JobName.DeliverOutboundBatch) {
      const { deliveryIds } = job.data as DeliverOutboundBatchJob;
      // attemptsStarted counts this run: more than one means the batch ran before.
      return this.deliveries
        .runBatch(deliveryIds, job.id ?? null, job.attemptsStarted > 1)
        .catch((error: unknown) => this.unexpected(job, token, error));
    }
    const data = job.data as DeliverOutboundJob;
    const step = await this.deliveries
      .run({ deliveryId: data.deliveryId, jobId: job.id ?? null, slotAt: data.slotAt, busy: data.busy })
      .catch((error: unknown) => this.unexpected(job, token, error));
    switch (step.kind) {
      case 'done':
        return step.outcome;
      case 'dead-lettered':
        throw new UnrecoverableError('delivery attempts exhausted');
      case 'later':
        if (step.slotAt !== data.slotAt || step.busy !== data.busy) {
          await job.updateData({ deliveryId: data.deliveryId, slotAt: step.slotAt, busy: step.busy });
        }
        await job.moveToDelayed(Date.now() + step.delayMs, token);
        throw new DelayedError();
    }
  }

  private async unexpected(job: Job, token: string | undefined, error: unknown): Promise<never> {
    const failure = classifyUnexpected(error);
    // A delivery already sent is sent again later: subscribers de-duplicate on webhook-id.
    await this.waitOutStoreOutage(this.sql, job, token);
    const final = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    this.logger.error({
      msg: final
        ? 'delivery run failed on its last attempt; dead-lettering its deliveries'
        : 'delivery run failed; BullMQ retries it',
      jobId: job.id,
      category: failure.category,
      error: failure.message,
    });
    if (!final) throw failure;
    // No delivery is left pending without a job: each still pending becomes a dead letter (replayable).
    const ids =
      job.name === JobName.DeliverOutboundBatch
        ? (job.data as DeliverOutboundBatchJob).deliveryIds
        : [(job.data as DeliverOutboundJob).deliveryId];
    await this.deliveries.abandon(ids, job.id ?? null, failure);
    throw new UnrecoverableError(failure.message);
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.drain(this.config.shutdownTimeoutMs);
    // Success counters of the deliveries that finished while draining.
    await this.deliveries.flushStatistics();
  }
}
