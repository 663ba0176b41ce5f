import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { Sql } from '../../platform/database/sql';

const FLUSH_INTERVAL_MS = 250;

/**
 * Success counters per endpoint, written a few times a second instead of on every delivery: hot
 * endpoints would otherwise serialise every worker on their one row. A failure flushes first, so the
 * circuit breaker always counts consecutive failures after the latest success.
 */
@Injectable()
export class EndpointStats implements OnModuleDestroy {
  private readonly logger = new Logger(EndpointStats.name);
  /** Per endpoint: successes since the last write, and when the latest was (epoch ms). */
  private pending = new Map<string, { count: number; at: number }>();
  private flushing: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly db: Sql) {
    this.timer = setInterval(() => void this.flush().catch(() => undefined), FLUSH_INTERVAL_MS);
    this.timer.unref();
  }

  succeeded(endpointId: string): void {
    const entry = this.pending.get(endpointId);
    if (entry) {
      entry.count++;
      entry.at = Date.now();
    } else {
      this.pending.set(endpointId, { count: 1, at: Date.now() });
    }
  }

  /** Writes what has accumulated; one write at a time, in endpoint id order (no deadlock between processes). */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      if (this.pending.size === 0) return;
      const batch = this.pending;
      this.pending = new Map();
      const ids = [...batch.keys()].sort();
      try {
        await this.db.query(
          `WITH locked AS (
             SELECT id FROM outbound_endpoints WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE
           )
           UPDATE outbound_endpoints e
              SET deliveries_total = deliveries_total + s.n, consecutive_failures = 0,
                  last_success_at = GREATEST(last_success_at, s.at)
             FROM unnest($1::uuid[], $2::int[], $3::timestamptz[]) AS s(id, n, at), locked
            WHERE e.id = s.id AND locked.id = s.id`,
          [ids, ids.map((id) => batch.get(id)!.count), ids.map((id) => new Date(batch.get(id)!.at))],
        );
      } catch (error) {
        // Put the counts back for the next flush.
        for (const [id, entry] of batch) {
          const current = this.pending.get(id);
          this.pending.set(id, current ? { count: current.count + entry.count, at: current.at } : entry);
        }
        this.logger.warn({ msg: 'could not write endpoint statistics; will retry', error: (error as Error)?.name });
        throw error;
      }
    });
    return this.flushing;
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.flush().catch(() => undefined);
  }
}
