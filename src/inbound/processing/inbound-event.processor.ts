import { Processor } from '@nestjs/bullmq';
import { BeforeApplicationShutdown, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { DelayedError, Job, UnrecoverableError } from 'bullmq';
import { AppConfig } from '../../platform/config/app-config';
import { Sql } from '../../platform/database/sql';
import { ProcessInboundEventJob, QueueName } from '../../platform/queue/queue-names';
import { QueueWorkerHost } from '../../platform/queue/queue-worker-host';
import { retryBackoff } from '../../platform/queue/retry-delay';
import { InboundEventHandler, PermanentFailure, SendDeferred } from './inbound-event.handler';

@Processor(QueueName.InboundEvents)
export class InboundEventProcessor
  extends QueueWorkerHost
  implements OnApplicationBootstrap, BeforeApplicationShutdown
{
  private readonly logger = new Logger(InboundEventProcessor.name);

  constructor(
    private readonly handler: InboundEventHandler,
    private readonly config: AppConfig,
    private readonly sql: Sql,
  ) {
    super();
  }

  /** Settings that come from configuration (the decorator's options are fixed when the file loads). */
  onApplicationBootstrap(): void {
    this.worker.opts.settings = { ...this.worker.opts.settings, backoffStrategy: retryBackoff(this.config.retry) };
    this.worker.concurrency = this.config.workers.concurrency;
  }

  async process(job: Job<ProcessInboundEventJob>, token?: string): Promise<string> {
    const attempt = job.attemptsMade + 1;
    try {
      return await this.handler.handle(job.data.eventId, {
        attempt,
        finalAttempt: attempt >= (job.opts.attempts ?? 1),
        jobId: job.id ?? null,
      });
    } catch (error) {
      if (error instanceof SendDeferred) {
        // Paced: run again at the reserved slot, without using an attempt.
        await job.moveToDelayed(error.until, token);
        throw new DelayedError();
      }
      // Already dead-lettered by the handler: stop BullMQ from trying again.
      if (error instanceof PermanentFailure) throw new UnrecoverableError(error.message);
      // Our own database is down: the event would be stranded with no dead letter written.
      await this.waitOutStoreOutage(this.sql, job, token);
      throw error;
    }
  }

  /** Drain: let active jobs finish for up to SHUTDOWN_TIMEOUT_MS, then stop (unfinished jobs stall and re-run). */
  async beforeApplicationShutdown(): Promise<void> {
    await this.drain(this.config.shutdownTimeoutMs);
  }
}
