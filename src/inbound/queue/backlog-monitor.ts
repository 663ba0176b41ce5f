import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { AppConfig } from '../../platform/config/app-config';
import { MetricsService } from '../../platform/metrics/metrics.service';
import { OperationalEvents, OperationalEventType } from '../../platform/operational-events/operational-events';
import { InboundEventProducer } from './inbound-event.producer';

const REFRESH_MS = 1000;
/** One `switchboard.ingest.degraded` per episode, whichever API processes enter it. */
const INCIDENT = 'ingest.degraded';

export interface BacklogState {
  /** Jobs not yet taken (waiting, which includes a paused queue's, prioritized, delayed), as last measured plus those enqueued since. */
  backlog: number;
  limit: number;
  /** True while new events are stored without being enqueued (see docs/flood-protection.md). */
  degraded: boolean;
  /** Stored events are being held back for the relay. */
  holding: boolean;
  measuredAt: string | null;
}

/**
 * Flood protection's measure of the inbound queue. The webhook path must not pay a Redis round trip
 * per request, so the count is refreshed once a second and what this process enqueues in between is
 * added to it. Over INGEST_BACKLOG_LIMIT, new events stay in Postgres (un-queued) and the relay
 * enqueues them as the backlog drains.
 */
@Injectable()
export class BacklogMonitor implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(BacklogMonitor.name);
  private backlog = 0;
  private admittedTotal = 0;
  private measuredAt: Date | null = null;
  private holding = false;
  private degradedSince: number | null = null;
  private timer?: NodeJS.Timeout;
  private refreshing?: Promise<void>;
  private readonly held?: Counter;

  constructor(
    private readonly config: AppConfig,
    private readonly producer: InboundEventProducer,
    private readonly operationalEvents: OperationalEvents,
    metrics?: MetricsService,
  ) {
    if (!metrics) return;
    const registers = [metrics.registry];
    const monitor = this;
    new Gauge({
      name: 'switchboard_ingest_backlog',
      help: 'Inbound jobs not yet taken (waiting, prioritized, delayed), as flood protection sees them',
      registers,
      collect() {
        this.set(monitor.backlog);
      },
    });
    new Gauge({ name: 'switchboard_ingest_backlog_limit', help: 'INGEST_BACKLOG_LIMIT', registers }).set(this.limit);
    new Gauge({
      name: 'switchboard_ingest_degraded',
      help: '1 while new events are stored without being enqueued (backlog over INGEST_BACKLOG_LIMIT)',
      registers,
      collect() {
        this.set(monitor.degraded ? 1 : 0);
      },
    });
    this.held = new Counter({
      name: 'switchboard_ingest_events_held_total',
      help: 'Stored events left for the relay because the backlog was at INGEST_BACKLOG_LIMIT',
      registers,
    });
  }

  onApplicationBootstrap(): void {
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), REFRESH_MS);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.refreshing;
  }

  get limit(): number {
    return this.config.ingestBacklogLimit;
  }

  get degraded(): boolean {
    return this.degradedSince !== null;
  }

  /** Measures the backlog now (one Redis round trip). Keeps the last value when Redis does not answer. */
  refresh(): Promise<void> {
    // Jobs being added while Redis counts may be missing from its count: they are counted on top (a job
    // that landed in time is then counted twice until the next measurement: less room, never more).
    const adding = this.producer.adding;
    const admitted = this.admittedTotal;
    this.refreshing ??= this.producer.queue
      .getJobCounts('waiting', 'prioritized', 'delayed')
      .then((counts) => {
        const measured = Object.values(counts).reduce((sum, n) => sum + (n ?? 0), 0);
        this.backlog = measured + adding + (this.admittedTotal - admitted);
        this.measuredAt = new Date();
        this.updateMode();
      })
      .catch(() => undefined)
      .finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  /** How many more jobs fit under the limit right now. */
  room(): number {
    return Math.max(0, this.limit - this.backlog);
  }

  /**
   * How many of `count` stored events may be enqueued now; they count against the backlog until the
   * next measurement. The rest are held back in Postgres for the relay.
   */
  admit(count: number): number {
    const admitted = Math.min(count, this.room());
    this.backlog += admitted;
    this.admittedTotal += admitted;
    if (admitted < count) {
      this.holding = true;
      this.held?.inc(count - admitted);
    }
    this.updateMode();
    return admitted;
  }

  /** The relay reports whether stored events are still waiting to be enqueued. */
  setHolding(holding: boolean): void {
    this.holding = holding;
    this.updateMode();
  }

  state(): BacklogState {
    return {
      backlog: this.backlog,
      limit: this.limit,
      degraded: this.degraded,
      holding: this.holding,
      measuredAt: this.measuredAt?.toISOString() ?? null,
    };
  }

  private updateMode(): void {
    const degraded = this.holding || this.backlog >= this.limit;
    if (degraded && this.degradedSince === null) {
      this.degradedSince = Date.now();
      this.logger.warn({
        msg: 'ingest degraded: the queue backlog reached INGEST_BACKLOG_LIMIT; new events are stored and enqueued by the relay as the backlog drains',
        backlog: this.backlog,
        limit: this.limit,
      });
      void this.operationalEvents.raise(
        {
          type: OperationalEventType.IngestDegraded,
          data: { backlog: this.backlog, limit: this.limit, holding: this.holding },
        },
        { key: INCIDENT, forSeconds: 3600 },
      );
    } else if (!degraded && this.degradedSince !== null) {
      this.logger.warn({
        msg: 'ingest recovered: the queue backlog is under INGEST_BACKLOG_LIMIT and every held event is enqueued',
        backlog: this.backlog,
        limit: this.limit,
        degradedForMs: Date.now() - this.degradedSince,
      });
      this.degradedSince = null;
      void this.operationalEvents.resolved(INCIDENT);
    }
  }
}
