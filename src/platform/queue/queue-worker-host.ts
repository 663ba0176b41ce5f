import { OnWorkerEvent, WorkerHost } from '@nestjs/bullmq';
import { Logger } from '@nestjs/common';
import { DelayedError, Job } from 'bullmq';
import { Sql } from '../database/sql';
import { settlesWithin } from '../time/within';

/** How long a forced close of a worker may take before shutdown goes on without it. */
const FORCED_CLOSE_MS = 5000;

/**
 * Base of every queue consumer: graceful draining, and Redis connection errors reported once every few
 * seconds (BullMQ reconnects by itself) rather than through BullMQ's console fallback on every retry.
 */
export abstract class QueueWorkerHost extends WorkerHost {
  private readonly connectionLogger = new Logger(this.constructor.name);
  private lastConnectionErrorLog = 0;

  /**
   * Lets active jobs finish for up to `timeoutMs`, then closes the worker anyway: the jobs still running
   * stall and BullMQ runs them again elsewhere, which processing is built to tolerate. The forced close is
   * bounded too: after a Redis Cluster restart BullMQ's close can wait forever for a connection that never
   * ends (test/faults/redis-cluster.fault-spec.ts hung there), and a shutdown must end all the same.
   */
  protected async drain(timeoutMs: number): Promise<void> {
    if (await settlesWithin(this.worker.close(), timeoutMs)) return;
    this.connectionLogger.warn({
      msg: 'active jobs did not finish in time; closing the worker anyway (they will be re-run)',
    });
    if (await settlesWithin(this.worker.close(true), FORCED_CLOSE_MS)) return;
    this.connectionLogger.warn({ msg: 'the worker did not close; shutting down without waiting for it any more' });
  }

  /**
   * When our own database is down, a failed job is not the job's fault: it waits for Postgres (moved back to
   * the delayed set for a second or two, DelayedError thrown) without using one of its attempts, or it would
   * run out of attempts with no dead letter written. Returns when Postgres answers.
   */
  protected async waitOutStoreOutage(sql: Sql, job: Job, token: string | undefined): Promise<void> {
    if (await sql.reachable()) return;
    await job.moveToDelayed(Date.now() + 1000 + Math.floor(Math.random() * 1000), token);
    throw new DelayedError();
  }

  @OnWorkerEvent('error')
  onConnectionError(error: Error): void {
    const now = Date.now();
    if (now - this.lastConnectionErrorLog < 5000) return;
    this.lastConnectionErrorLog = now;
    this.connectionLogger.warn({ msg: 'worker lost its Redis connection; reconnecting', error: error.message });
  }
}
