import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { Queue } from 'bullmq';
import { Gauge } from 'prom-client';
import { AuditAction } from '../../audit/audit-actions';
import { AppConfig } from '../../platform/config/app-config';
import { Sql } from '../../platform/database/sql';
import { QueueName } from '../../platform/queue/queue-names';
import { RedisConnections } from '../../platform/redis/redis-connections';
import { MetricsService } from '../../platform/metrics/metrics.service';

const STATES = ['waiting', 'active', 'delayed', 'prioritized', 'failed', 'completed'] as const;
export type QueueCounts = Record<(typeof STATES)[number], number>;

export interface ProcessingTimes {
  averageMs: number | null;
  p95Ms: number | null;
  /** How many processed events the figures are computed from (the latest, at most 10,000, within 15 minutes). */
  sampleSize: number;
}

export interface QueueFigure {
  name: string;
  /** Null when Redis did not answer. */
  counts: QueueCounts | null;
  deadLetters: number | null;
  failuresLast15Minutes: number | null;
  processing: ProcessingTimes | null;
  /** Events finished (processed or dead-lettered) in the last minute. */
  throughputLastMinute: number | null;
  /** Where timings and failure counts come from. */
  timingsSource: 'postgres' | null;
}

const SAMPLE = 10_000;

/**
 * Figures about every queue. Counts come from BullMQ (Redis); timings, throughput and failures from
 * Postgres, which holds every event's timestamps (inbound_events.started_at/processed_at) and every
 * failed attempt (audit_log), whichever process handled it.
 */
@Injectable()
export class QueueFigures implements OnModuleDestroy {
  private readonly queues: Map<string, Queue>;

  constructor(
    config: AppConfig,
    private readonly db: Sql,
    metrics: MetricsService,
    redis: RedisConnections,
  ) {
    this.queues = new Map(
      Object.values(QueueName).map((name) => {
        const queue = new Queue(name, {
          connection: redis.failFast,
          prefix: config.queuePrefix,
        });
        queue.on('error', () => undefined);
        return [name, queue];
      }),
    );
    const registers = [metrics.registry];
    const backlogAge = new Gauge({
      name: 'switchboard_inbound_backlog_age_seconds',
      help: 'Age of the oldest stored inbound event not yet processed (0 when none waits)',
      registers,
    });
    const endpoints = new Gauge({
      name: 'switchboard_outbound_endpoints',
      help: 'Outbound endpoints by status (active, disabled)',
      labelNames: ['status'] as const,
      registers,
    });
    const up = new Gauge({
      name: 'switchboard_dependency_up',
      help: '1 while the dependency (postgres, redis) answers this process, 0 otherwise',
      labelNames: ['dependency'] as const,
      registers,
    });
    metrics.onScrape(async () => {
      const postgres = await db.reachable();
      up.set({ dependency: 'postgres' }, postgres ? 1 : 0);
      const redisUp = await redis.failFast.ping().then(
        () => true,
        () => false,
      );
      up.set({ dependency: 'redis' }, redisUp ? 1 : 0);
      if (!postgres) return;
      const row = await db.one<{ age: number; active: number; disabled: number }>(
        `SELECT coalesce((SELECT extract(epoch FROM now() - min(received_at)) FROM inbound_events
                           WHERE status IN ('received', 'processing')), 0)::float8 AS age,
                (SELECT count(*) FROM outbound_endpoints WHERE status = 'active')::int AS active,
                (SELECT count(*) FROM outbound_endpoints WHERE status = 'disabled')::int AS disabled`,
      );
      backlogAge.set(row?.age ?? 0);
      endpoints.set({ status: 'active' }, row?.active ?? 0);
      endpoints.set({ status: 'disabled' }, row?.disabled ?? 0);
    });
    metrics.onScrape(async () => {
      for (const [name, queue] of this.queues) {
        const counts = await this.counts(queue);
        // Redis did not answer: no sample rather than a misleading zero.
        for (const state of STATES) {
          if (counts) metrics.queueJobs.set({ queue: name, state }, counts[state]);
          else metrics.queueJobs.remove({ queue: name, state });
        }
      }
    });
  }

  names(): string[] {
    return [...this.queues.keys()];
  }

  queue(name: string): Queue | undefined {
    return this.queues.get(name);
  }

  /** Job counts only: cheap enough for a log line every minute. */
  async countsByQueue(): Promise<Array<{ name: string; counts: QueueCounts | null }>> {
    return Promise.all([...this.queues].map(async ([name, queue]) => ({ name, counts: await this.counts(queue) })));
  }

  async all(): Promise<QueueFigure[]> {
    return Promise.all([...this.queues].map(([name, queue]) => this.figure(name, queue)));
  }

  private async figure(name: string, queue: Queue): Promise<QueueFigure> {
    const source = deadLetterSource(name);
    const [counts, deadLetters, inbound] = await Promise.all([
      this.counts(queue),
      source ? this.pendingDeadLetters(source) : Promise.resolve(null),
      name === QueueName.InboundEvents ? this.inboundTimings() : Promise.resolve(null),
    ]);
    return {
      name,
      counts,
      deadLetters,
      failuresLast15Minutes: inbound?.failures ?? null,
      processing: inbound?.processing ?? null,
      throughputLastMinute: inbound?.lastMinute ?? null,
      timingsSource: inbound ? 'postgres' : null,
    };
  }

  private async counts(queue: Queue): Promise<QueueCounts | null> {
    try {
      const raw = await queue.getJobCounts(...STATES);
      return Object.fromEntries(STATES.map((state) => [state, raw[state] ?? 0])) as QueueCounts;
    } catch {
      return null;
    }
  }

  private async pendingDeadLetters(source: string): Promise<number> {
    const row = await this.db.one<{ n: number }>(
      `SELECT count(*)::int AS n FROM dead_letters WHERE status = 'pending' AND source = $1`,
      [source],
    );
    return row?.n ?? 0;
  }

  private async inboundTimings(): Promise<{ processing: ProcessingTimes; lastMinute: number; failures: number }> {
    const row = await this.db.one<{
      avg_ms: number | null;
      p95_ms: number | null;
      sample: number;
      last_minute: number;
      failures: number;
    }>(
      `WITH recent AS (
         SELECT extract(epoch FROM processed_at - started_at) * 1000 AS ms
           FROM inbound_events
          WHERE processed_at > now() - interval '15 minutes' AND status = 'processed' AND started_at IS NOT NULL
          ORDER BY processed_at DESC
          LIMIT ${SAMPLE}
       ), window_start AS (
         SELECT id FROM audit_log WHERE occurred_at > now() - interval '15 minutes' ORDER BY occurred_at LIMIT 1
       )
       SELECT (SELECT avg(ms) FROM recent)::float8 AS avg_ms,
              (SELECT percentile_cont(0.95) WITHIN GROUP (ORDER BY ms) FROM recent)::float8 AS p95_ms,
              (SELECT count(*) FROM recent)::int AS sample,
              (SELECT count(*) FROM inbound_events WHERE processed_at > now() - interval '1 minute')::int AS last_minute,
              (SELECT count(*) FROM audit_log
                WHERE action IN ($1, $2) AND id >= (SELECT id FROM window_start)
                  AND occurred_at > now() - interval '15 minutes')::int AS failures`,
      [AuditAction.EventAttemptFailed, AuditAction.EventDeadLettered],
    );
    const round = (value: number | null | undefined) =>
      value === null || value === undefined ? null : Math.round(value * 10) / 10;
    return {
      processing: { averageMs: round(row?.avg_ms), p95Ms: round(row?.p95_ms), sampleSize: row?.sample ?? 0 },
      lastMinute: row?.last_minute ?? 0,
      failures: row?.failures ?? 0,
    };
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all([...this.queues.values()].map((queue) => queue.close().catch(() => undefined)));
  }
}

/** Which dead letters belong to a queue. */
function deadLetterSource(queueName: string): 'inbound' | 'outbound' | null {
  if (queueName === QueueName.InboundEvents) return 'inbound';
  return queueName.startsWith('outbound') ? 'outbound' : null;
}
