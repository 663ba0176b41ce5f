import { InjectQueue } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import { Queue } from 'bullmq';
import { PeriodicPass } from '../periodic-pass';
import { JobName, QueueName, RunOperationJob } from '../queue/queue-names';
import { operationJobOptions } from './operation-jobs';
import { OperationRepository } from './operation.repository';

const EVERY_MS = 5000;

/**
 * Every running operation has a job: one whose job is missing (the queue refused it at start, Redis lost
 * its data) is queued again; one whose job failed for good is marked failed. Runs in the worker processes.
 */
@Injectable()
export class OperationRelay extends PeriodicPass {
  protected readonly intervalMs = EVERY_MS;

  constructor(
    private readonly operations: OperationRepository,
    @InjectQueue(QueueName.Operations) private readonly queue: Queue<RunOperationJob>,
  ) {
    super();
  }

  protected async pass(): Promise<void> {
    for (const id of await this.operations.runningIds(100)) {
      const job = await this.queue.getJob(id);
      if (!job) {
        await this.queue.add(JobName.RunOperation, { operationId: id }, operationJobOptions(id));
        this.logger.warn({ msg: 'running operation had no job: queued it again', operationId: id });
      } else if ((await job.getState()) === 'failed') {
        await this.operations.finish(id, 'failed', 'job_failed');
      }
    }
  }
}
