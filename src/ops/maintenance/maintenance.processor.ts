import { Processor } from '@nestjs/bullmq';
import { Job } from 'bullmq';
import { RefreshRun, TokenRefresher } from '../../accounts/token-refresher';
import { QueueWorkerHost } from '../../platform/queue/queue-worker-host';
import { JobName, MaintenanceJob, QueueName } from '../../platform/queue/queue-names';
import { RetentionCounts, RetentionService } from './retention.service';

/** Runs the maintenance jobs the scheduler creates (one at a time per worker process). */
@Processor(QueueName.Maintenance)
export class MaintenanceProcessor extends QueueWorkerHost {
  constructor(
    private readonly retention: RetentionService,
    private readonly tokens: TokenRefresher,
  ) {
    super();
  }

  async process(job: Job<MaintenanceJob>): Promise<RetentionCounts | RefreshRun> {
    switch (job.name) {
      case JobName.RunRetention:
        return (await this.retention.run({ actor: 'system', trigger: 'schedule' })).counts;
      case JobName.RefreshAccountTokens:
        return this.tokens.refreshDue('system');
      default:
        throw new Error(`unknown maintenance job ${job.name}`);
    }
  }
}
