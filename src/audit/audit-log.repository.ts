import { Injectable } from '@nestjs/common';
import { Sql } from '../platform/database/sql';

export interface AuditLogFilter {
  /** Exact action, or a prefix ending in `.*` (e.g. `reply.*`). */
  action?: string;
  outcome?: string;
  provider?: string;
  eventId?: string;
  correlationId?: string;
  actor?: string;
  /** The `reason` in the entry's metadata: why a reply was skipped or held (handoff, window_closed, …). */
  reason?: string;
  from?: Date;
  to?: Date;
}

export interface AuditLogRow {
  /** bigint, as a string. */
  id: string;
  occurredAt: Date;
  action: string;
  outcome: string;
  provider: string | null;
  eventId: string | null;
  correlationId: string | null;
  actor: string;
  metadata: Record<string, unknown>;
}

/**
 * Reads the audit log, newest first, by keyset on id (never OFFSET: exports run to millions of rows), through
 * `audit_entries`: a step folded into another entry's row (see foldProcessed) is an entry of its own there.
 */
@Injectable()
export class AuditLogRepository {
  constructor(private readonly db: Sql) {}

  async page(filter: AuditLogFilter, beforeId: string | null, limit: number): Promise<AuditLogRow[]> {
    const params: unknown[] = [];
    const conditions: string[] = [];
    const add = (sql: (p: string) => string, value: unknown) => {
      params.push(value);
      conditions.push(sql(`$${params.length}`));
    };
    if (filter.action?.endsWith('.*')) {
      add((p) => `action LIKE ${p}`, `${escapeLike(filter.action.slice(0, -1))}%`);
    } else if (filter.action) add((p) => `action = ${p}`, filter.action);
    if (filter.outcome) add((p) => `outcome = ${p}`, filter.outcome);
    if (filter.provider) add((p) => `provider = ${p}`, filter.provider);
    if (filter.eventId) add((p) => `event_id = ${p}::uuid`, filter.eventId);
    if (filter.correlationId) add((p) => `correlation_id = ${p}`, filter.correlationId);
    if (filter.actor) add((p) => `actor = ${p}`, filter.actor);
    if (filter.reason) add((p) => `metadata->>'reason' = ${p}`, filter.reason);
    if (filter.from) add((p) => `occurred_at >= ${p}`, filter.from);
    if (filter.to) add((p) => `occurred_at < ${p}`, filter.to);
    if (beforeId) add((p) => `id < ${p}::bigint`, beforeId);
    params.push(limit);
    return this.db.query<AuditLogRow>(
      `SELECT id::text AS id, occurred_at AS "occurredAt", action, outcome, provider, event_id AS "eventId",
              correlation_id AS "correlationId", actor, metadata
         FROM audit_entries
        ${conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : ''}
        ORDER BY audit_entries.id DESC
        LIMIT $${params.length}`,
      params,
    );
  }
}

function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}
