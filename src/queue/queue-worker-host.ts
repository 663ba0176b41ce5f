import { OnWorkerEvent, WorkerHost } from '@nestjs/bullmq';
import { Logger } from '@nestjs/common';

/**
 * Base of every queue consumer. Redis connection errors are reported here (BullMQ reconnects by itself):
 * once every few seconds rather than on every retry, and never through BullMQ's console fallback.
 */
export abstract class QueueWorkerHost extends WorkerHost {
  private readonly connectionLogger = new Logger(this.constructor.name);
  private lastConnectionErrorLog = 0;

  @OnWorkerEvent('error')
  onConnectionError(error: Error): void {
    const now = Date.now();
    if (now - this.lastConnectionErrorLog < 5000) return;
    this.lastConnectionErrorLog = now;
    this.connectionLogger.warn({ msg: 'worker lost its Redis connection; reconnecting', error: error.message });
  }
}
