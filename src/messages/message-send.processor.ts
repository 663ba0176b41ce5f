import { Processor } from '@nestjs/bullmq';
import { BeforeApplicationShutdown, OnApplicationBootstrap } from '@nestjs/common';
import { DelayedError, Job, UnrecoverableError } from 'bullmq';
import { AppConfig } from '../platform/config/app-config';
import { Sql } from '../platform/database/sql';
import { QueueName, SendMessageJob } from '../platform/queue/queue-names';
import { QueueWorkerHost } from '../platform/queue/queue-worker-host';
import { retryBackoff } from '../platform/queue/retry-delay';
import { MessageDeferred, MessageFailedForGood, MessageSender } from './message-sender';

/** The consumer of POST /messages' sends, with the inbound consumer's retry schedule. */
@Processor(QueueName.OutgoingMessages)
export class MessageSendProcessor extends QueueWorkerHost implements OnApplicationBootstrap, BeforeApplicationShutdown {
  constructor(
    private readonly sender: MessageSender,
    private readonly config: AppConfig,
    private readonly sql: Sql,
  ) {
    super();
  }

  onApplicationBootstrap(): void {
    this.worker.opts.settings = { ...this.worker.opts.settings, backoffStrategy: retryBackoff(this.config.retry) };
    this.worker.concurrency = Math.min(50, this.config.workers.concurrency);
  }

  async process(job: Job<SendMessageJob>, token?: string): Promise<void> {
    const attempt = job.attemptsMade + 1;
    try {
      await this.sender.send(job.data.messageId, { attempt, finalAttempt: attempt >= (job.opts.attempts ?? 1) });
    } catch (error) {
      if (error instanceof MessageDeferred) {
        await job.moveToDelayed(error.until, token);
        throw new DelayedError();
      }
      if (error instanceof MessageFailedForGood) throw new UnrecoverableError(error.message);
      await this.waitOutStoreOutage(this.sql, job, token);
      throw error;
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.drain(this.config.shutdownTimeoutMs);
  }
}
