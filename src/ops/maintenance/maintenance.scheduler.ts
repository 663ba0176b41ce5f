import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { Queue } from 'bullmq';
import { JobName, QueueName, RunRetentionJob } from '../../platform/queue/queue-names';

export const RETENTION_SCHEDULER_ID = 'retention-daily';
/** Daily at 03:15 UTC, off the clinics' busy hours. */
export const RETENTION_CRON = '15 3 * * *';

/**
 * Registers the daily retention run as a BullMQ job scheduler. Upserting is idempotent, so every
 * worker process does it at start and exactly one job is produced per day whatever their number.
 */
@Injectable()
export class MaintenanceScheduler implements OnApplicationBootstrap {
  private readonly logger = new Logger(MaintenanceScheduler.name);

  constructor(@InjectQueue(QueueName.Maintenance) private readonly queue: Queue<RunRetentionJob>) {}

  async onApplicationBootstrap(): Promise<void> {
    try {
      await this.queue.upsertJobScheduler(
        RETENTION_SCHEDULER_ID,
        { pattern: RETENTION_CRON, tz: 'UTC' },
        {
          name: JobName.RunRetention,
          data: {},
          opts: {
            attempts: 3,
            backoff: { type: 'exponential', delay: 60_000 },
            removeOnComplete: 30,
            removeOnFail: 30,
          },
        },
      );
    } catch (error) {
      this.logger.warn({ msg: 'could not register the retention schedule', error: (error as Error)?.message });
    }
  }
}
