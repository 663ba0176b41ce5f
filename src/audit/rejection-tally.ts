import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '../platform/config/app-config';
import { describeDatabaseError } from '../platform/database/database-errors';
import { RejectionCount, RejectionTallyRepository } from './rejection-tally.repository';

const FLUSH_INTERVAL_MS = 2000;
const MINUTE_MS = 60_000;

/**
 * Rejected webhooks (missing or wrong signature) are audited in aggregate: at most one `webhook.rejected`
 * entry per provider, reason and minute, with a `count`, however many processes take them. A rejection
 * costs a counter here; every couple of seconds the counts go to the minute's row in Postgres, and a
 * minute that is over becomes its audit entry. Unauthenticated traffic so never writes per request.
 *
 * A minute is Postgres' (one clock for every process), and a count lands in the minute it reaches
 * Postgres, at most a flush interval after the rejection (longer while Postgres is unavailable: the
 * counts wait here, one number per provider and reason). A minute is closed only once it is older than
 * the statement timeout plus a margin, so no count can still be on its way to it.
 */
@Injectable()
export class RejectionTally implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(RejectionTally.name);
  private counts = new Map<string, RejectionCount>();
  private readonly graceMs: number;
  /** Until then (local time) this process closes minutes: it added to one that may still be open. */
  private closingUntil = 0;
  /** Minutes a stopped process left open are closed by the next one to start. */
  private closeLeftovers = true;
  private timer?: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();
  private lastFailureLog = 0;

  constructor(
    private readonly repository: RejectionTallyRepository,
    config: AppConfig,
  ) {
    this.graceMs = config.databaseStatementTimeoutMs + 10_000;
  }

  count(provider: string, reason: string): void {
    const key = `${provider}\u0000${reason}`;
    const entry = this.counts.get(key);
    if (entry) entry.count += 1;
    else this.counts.set(key, { provider, reason, count: 1 });
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.flush(), FLUSH_INTERVAL_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  /** Writes what was counted, then closes the minutes that are over; one flush at a time. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.flushNow()).catch((error: unknown) => this.noteFailure(error));
    return this.flushing;
  }

  private async flushNow(): Promise<void> {
    if (this.counts.size > 0) {
      const counts = this.counts;
      this.counts = new Map();
      try {
        await this.repository.add([...counts.values()]);
      } catch (error) {
        for (const [key, entry] of counts) this.counts.set(key, this.merged(key, entry));
        throw error;
      }
      this.closingUntil = Date.now() + MINUTE_MS + this.graceMs + 2 * FLUSH_INTERVAL_MS;
    }
    // A small DELETE on a table of open minutes; it writes the audit entry of each minute that is over.
    if (!this.closeLeftovers && Date.now() > this.closingUntil) return;
    await this.repository.close(this.graceMs);
    this.closeLeftovers = false;
  }

  private merged(key: string, entry: RejectionCount): RejectionCount {
    const newer = this.counts.get(key);
    return newer ? { ...entry, count: entry.count + newer.count } : entry;
  }

  private noteFailure(error: unknown): void {
    const now = Date.now();
    if (now - this.lastFailureLog < 60_000) return;
    this.lastFailureLog = now;
    this.logger.warn({
      msg: 'could not write the rejected-webhook counts; kept for the next try',
      ...describeDatabaseError(error),
    });
  }
}
