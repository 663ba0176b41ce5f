import { Injectable } from '@nestjs/common';
import { Sql } from '../platform/database/sql';
import { AuditAction } from './audit-actions';

export interface RejectionCount {
  provider: string;
  reason: string;
  count: number;
}

/** `webhook_rejection_tallies`: the open minutes' counts of rejected webhooks, summed over every process. */
@Injectable()
export class RejectionTallyRepository {
  constructor(private readonly db: Sql) {}

  /** Adds counts to the current minute (Postgres' clock: one clock for every process). */
  async add(counts: readonly RejectionCount[]): Promise<void> {
    await this.db.query(
      `INSERT INTO webhook_rejection_tallies AS t (provider, reason, minute, count)
       SELECT provider, reason, date_trunc('minute', now()), count
         FROM unnest($1::text[], $2::text[], $3::bigint[]) AS c(provider, reason, count)
       ON CONFLICT (provider, reason, minute) DO UPDATE SET count = t.count + EXCLUDED.count`,
      [counts.map((c) => c.provider), counts.map((c) => c.reason), counts.map((c) => c.count)],
    );
  }

  /**
   * Moves every minute that ended more than `graceMs` ago into the audit log, one entry each. Processes
   * closing at once each get different rows (DELETE … RETURNING): a minute becomes exactly one entry.
   */
  async close(graceMs: number): Promise<number> {
    const rows = await this.db.query<{ n: number }>(
      `WITH closed AS (
         DELETE FROM webhook_rejection_tallies
          WHERE minute < date_trunc('minute', now() - make_interval(secs => $1::double precision / 1000))
         RETURNING provider, reason, minute, count
       ), audited AS (
         INSERT INTO audit_log (occurred_at, action, outcome, provider, metadata)
         SELECT minute, '${AuditAction.WebhookRejected}', 'rejected', provider,
                jsonb_build_object('reason', reason, 'count', count,
                                   'minute', to_char(minute AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
           FROM closed
         RETURNING 1
       )
       SELECT count(*)::int AS n FROM audited`,
      [graceMs],
    );
    return rows[0]?.n ?? 0;
  }
}
