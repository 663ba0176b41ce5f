import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { AppConfig } from '../platform/config/app-config';
import { MetricsService } from '../platform/metrics/metrics.service';
import { OperationalEvents, OperationalEventType } from '../platform/operational-events/operational-events';
import { DeadLetterRepository } from './dead-letter.repository';

const CHECK_EVERY_MS = 30_000;

const INCIDENT = 'dead-letters.threshold';

/**
 * Watches the pending dead-letter count: a warning log line and `switchboard.dead_letters.threshold_exceeded`
 * when it crosses DLQ_ALERT_THRESHOLD (once per crossing, not on every check, and one event whichever
 * processes see it), and gauges for Prometheus alerting. Checked every 30 s and on each scrape.
 */
@Injectable()
export class DeadLetterAlert implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(DeadLetterAlert.name);
  private timer?: NodeJS.Timeout;
  private alerting = false;
  private checking?: Promise<number>;

  constructor(
    private readonly config: AppConfig,
    private readonly deadLetters: DeadLetterRepository,
    private readonly metrics: MetricsService,
    private readonly operationalEvents: OperationalEvents,
  ) {
    metrics.deadLetterAlertThreshold.set(config.deadLetters.alertThreshold);
    metrics.onScrape(async () => {
      await this.check();
    });
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.check().catch(() => undefined), CHECK_EVERY_MS);
    this.timer.unref();
  }

  /** Counts pending dead letters, updates the gauges, and logs a crossing. Concurrent calls share one count. */
  check(): Promise<number> {
    this.checking ??= this.countAndCompare().finally(() => (this.checking = undefined));
    return this.checking;
  }

  private async countAndCompare(): Promise<number> {
    const pending = await this.deadLetters.countPending();
    const threshold = this.config.deadLetters.alertThreshold;
    this.metrics.deadLettersPending.set(pending);
    if (pending >= threshold && !this.alerting) {
      this.logger.warn({ msg: 'dead letters above the alert threshold', pending, threshold, alert: 'dlq_threshold' });
      await this.operationalEvents.raise(
        { type: OperationalEventType.DeadLettersThresholdExceeded, data: { pending, threshold } },
        { key: INCIDENT, forSeconds: 3600 },
      );
    } else if (pending < threshold && this.alerting) {
      this.logger.log({ msg: 'dead letters back below the alert threshold', pending, threshold });
      await this.operationalEvents.resolved(INCIDENT);
    }
    this.alerting = pending >= threshold;
    this.metrics.deadLetterAlert.set(this.alerting ? 1 : 0);
    return pending;
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }
}
