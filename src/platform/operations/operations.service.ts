import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger } from '@nestjs/common';
import { Queue } from 'bullmq';
import { setTimeout as sleep } from 'node:timers/promises';
import { uuidv7 } from '../crypto/ids';
import { JobName, QueueName, RunOperationJob } from '../queue/queue-names';
import { operationJobOptions } from './operation-jobs';
import { OperationKind, OperationStatus } from './operation-kind';
import { OperationError } from './operation.errors';
import { OperationRecord } from './operation-record';
import { OperationRepository } from './operation.repository';

/** How long a cancel waits for the worker running it to stop and say how far it got. */
const CANCEL_WAIT_MS = 3000;

/**
 * Starts, reads and cancels durable operations (any process): the row is the truth, the job only runs it.
 * Errors are OperationErrors.
 */
@Injectable()
export class Operations {
  private readonly logger = new Logger(Operations.name);

  constructor(
    private readonly operations: OperationRepository,
    @InjectQueue(QueueName.Operations) private readonly queue: Queue<RunOperationJob>,
  ) {}

  /**
   * Counts what the operation covers, writes its row and queues its job. A queue that refuses now does not
   * fail the start: the relay in the worker processes queues every running operation that has no job.
   */
  async start<F extends object>(kind: OperationKind<F>, filter: F, actor: string): Promise<OperationRecord> {
    const total = await kind.count(filter);
    const operation = await this.operations.create({ id: uuidv7(), kind: kind.name, filter, total, actor });
    await kind.started({ id: operation.id, actor, createdAt: operation.createdAt, resumed: false }, filter, total);
    await this.queue
      .add(JobName.RunOperation, { operationId: operation.id }, operationJobOptions(operation.id))
      .catch(() => this.logger.warn({ msg: 'operation left for the relay to queue', operationId: operation.id }));
    this.logger.log({ msg: 'operation started', operationId: operation.id, kind: kind.name, total, actor });
    return operation;
  }

  async get(id: string): Promise<OperationRecord> {
    const operation = await this.operations.find(id);
    if (!operation) throw new OperationError('not_found', 'no such operation');
    return operation;
  }

  list(filter: { status?: OperationStatus; kind?: string }, before: string | null, limit: number) {
    return this.operations.list(filter, before, limit);
  }

  /**
   * Asks the worker running it to stop after the batch in hand (it checks between batches and while it
   * waits), and waits for it to say how many it did. An operation no worker holds right now is ended here.
   */
  async cancel(id: string): Promise<OperationRecord> {
    const requested = await this.operations.requestCancel(id);
    if (!requested) throw new OperationError('not_found', 'no such operation');
    if (requested.status !== 'running') {
      if (requested.status === 'cancelled') return requested;
      throw new OperationError(
        'conflict',
        `this operation is ${requested.status}; only a running one can be cancelled`,
      );
    }
    const deadline = Date.now() + CANCEL_WAIT_MS;
    while (Date.now() < deadline) {
      await sleep(50);
      const now = await this.get(id);
      if (now.status !== 'running') return now;
    }
    const job = await this.queue.getJob(id).catch(() => undefined);
    const state = job ? await job.getState().catch(() => 'unknown') : 'missing';
    if (state !== 'active') return (await this.operations.finish(id, 'cancelled')) ?? this.get(id);
    return this.get(id);
  }
}
