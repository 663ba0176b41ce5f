import { Processor } from '@nestjs/bullmq';
import { Job } from 'bullmq';
import { QueueWorkerHost } from '../../platform/queue/queue-worker-host';
import { JobName, QueueName, RunRetentionJob } from '../../platform/queue/queue-names';
import { RetentionCounts, RetentionService } from './retention.service';

/** Runs the maintenance jobs the scheduler creates (one at a time per worker process). */
@Processor(QueueName.Maintenance)
export class MaintenanceProcessor extends QueueWorkerHost {
  constructor(private readonly retention: RetentionService) {
    super();
  }

  async process(job: Job<RunRetentionJob>): Promise<RetentionCounts> {
    if (job.name !== JobName.RunRetention) throw new Error(`unknown maintenance job ${job.name}`);
    return (await this.retention.run({ actor: 'system', trigger: 'schedule' })).counts;
  }
}
