import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { Queue } from 'bullmq';
import { JobName, MaintenanceJob, QueueName } from '../../platform/queue/queue-names';

export const RETENTION_SCHEDULER_ID = 'retention-daily';
/** Daily at 03:15 UTC, off the clinics' busy hours. */
export const RETENTION_CRON = '15 3 * * *';
export const TOKEN_REFRESH_SCHEDULER_ID = 'account-tokens-daily';
/** Daily at 02:45 UTC: days before any token expires (TOKEN_REFRESH_BEFORE_DAYS), so a failure leaves time. */
export const TOKEN_REFRESH_CRON = '45 2 * * *';

const SCHEDULES = [
  { id: RETENTION_SCHEDULER_ID, pattern: RETENTION_CRON, name: JobName.RunRetention },
  { id: TOKEN_REFRESH_SCHEDULER_ID, pattern: TOKEN_REFRESH_CRON, name: JobName.RefreshAccountTokens },
];

/**
 * Registers the daily maintenance runs as BullMQ job schedulers. Upserting is idempotent, so every worker
 * process does it at start and exactly one job of each is produced per day whatever their number.
 */
@Injectable()
export class MaintenanceScheduler implements OnApplicationBootstrap {
  private readonly logger = new Logger(MaintenanceScheduler.name);

  constructor(@InjectQueue(QueueName.Maintenance) private readonly queue: Queue<MaintenanceJob>) {}

  async onApplicationBootstrap(): Promise<void> {
    for (const schedule of SCHEDULES) {
      try {
        await this.queue.upsertJobScheduler(
          schedule.id,
          { pattern: schedule.pattern, tz: 'UTC' },
          {
            name: schedule.name,
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
        this.logger.warn({
          msg: 'could not register a maintenance schedule',
          schedule: schedule.id,
          error: (error as Error)?.message,
        });
      }
    }
  }
}
