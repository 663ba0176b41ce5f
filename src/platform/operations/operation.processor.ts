import { Processor } from '@nestjs/bullmq';
import { BeforeApplicationShutdown, Logger } from '@nestjs/common';
import { DelayedError, Job } from 'bullmq';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppConfig } from '../config/app-config';
import { Sql } from '../database/sql';
import { classifyUnexpected } from '../failure';
import { QueueName, RunOperationJob } from '../queue/queue-names';
import { QueueWorkerHost } from '../queue/queue-worker-host';
import { OperationKind, OperationKinds, OperationRun } from './operation-kind';
import { OperationRecord } from './operation-record';
import { OperationRepository } from './operation.repository';

/** While a kind asks to wait, the row is read this often: a cancel is seen within it. */
const WAIT_POLL_MS = 250;

/**
 * Runs durable operations, a batch at a time: after each batch its counts and cursor are recorded and a
 * cancel is looked for. A process that dies mid-operation leaves its job to stall; BullMQ gives it to
 * another worker (the lock below is short for that), which resumes from the recorded cursor.
 */
@Processor(QueueName.Operations, {
  concurrency: 4,
  lockDuration: 10_000,
  stalledInterval: 5_000,
  // Every run resumes where the last one stopped: stalling (a restart) is never a reason to give up.
  maxStalledCount: 1000,
})
export class OperationProcessor extends QueueWorkerHost implements BeforeApplicationShutdown {
  private readonly logger = new Logger(OperationProcessor.name);
  private stopping = false;

  constructor(
    private readonly kinds: OperationKinds,
    private readonly operations: OperationRepository,
    private readonly config: AppConfig,
    private readonly sql: Sql,
  ) {
    super();
  }

  async process(job: Job<RunOperationJob>, token?: string): Promise<string> {
    const found = await this.operations.find(job.data.operationId);
    if (!found || found.status !== 'running') return found?.status ?? 'missing';
    const kind = this.kinds.get(found.kind);
    if (!kind) {
      this.logger.error({ msg: 'no such operation kind in this process', operationId: found.id, kind: found.kind });
      await this.end(found, undefined, 'failed', 'unknown_kind');
      return 'failed';
    }
    try {
      return await this.run(kind, found, job, token);
    } catch (error) {
      if (error instanceof DelayedError) throw error;
      await this.waitOutStoreOutage(this.sql, job, token);
      const failure = classifyUnexpected(error);
      const final = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      this.logger.error({
        msg: final ? 'operation failed on its last attempt' : 'operation batch failed; it resumes from its cursor',
        operationId: found.id,
        kind: found.kind,
        category: failure.category,
        error: failure.message,
      });
      if (final) await this.end(found, kind, 'failed', failure.category);
      throw failure;
    }
  }

  private async run(kind: OperationKind, first: OperationRecord, job: Job, token?: string): Promise<string> {
    let operation = first;
    // The first batch of a run that is not the operation's first may repeat one that took effect unrecorded.
    let resumed = job.attemptsStarted > 1 || operation.cursor !== null || operation.done + operation.failed > 0;
    for (;;) {
      if (operation.status !== 'running') return operation.status;
      if (operation.cancelRequestedAt) return this.end(operation, kind, 'cancelled');
      if (this.stopping) {
        // Shutting down: another worker (or this one, restarted) takes it from the recorded cursor.
        await job.moveToDelayed(Date.now() + 1000, token);
        throw new DelayedError();
      }
      const waitMs = await kind.waitBeforeBatch(operation.filter);
      if (waitMs > 0) {
        await sleep(Math.min(waitMs, WAIT_POLL_MS));
        operation = (await this.operations.find(operation.id)) ?? operation;
        continue;
      }
      const run: OperationRun = { id: operation.id, actor: operation.actor, createdAt: operation.createdAt, resumed };
      const batch = await kind.runBatch(operation.filter, operation.cursor, run);
      resumed = false;
      operation = (await this.operations.recordBatch(operation.id, batch)) ?? operation;
      await job.updateProgress({ total: operation.total, done: operation.done, failed: operation.failed });
      if (batch.cursor === null) return this.end(operation, kind, 'completed');
    }
  }

  private async end(
    operation: OperationRecord,
    kind: OperationKind | undefined,
    status: 'completed' | 'cancelled' | 'failed',
    error: string | null = null,
  ): Promise<string> {
    const ended = await this.operations.finish(operation.id, status, error);
    if (!ended) return (await this.operations.find(operation.id))?.status ?? status;
    this.logger.log({
      msg: `operation ${status}`,
      operationId: ended.id,
      kind: ended.kind,
      total: ended.total,
      done: ended.done,
      failed: ended.failed,
    });
    await kind
      ?.finished({ id: ended.id, actor: ended.actor, createdAt: ended.createdAt, resumed: false }, status, ended.done)
      .catch(() => undefined);
    return status;
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    await this.drain(this.config.shutdownTimeoutMs);
  }
}
