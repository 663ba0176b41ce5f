import { AuditEntry } from './audit-actions';

/** An `INSERT INTO audit_log` for use as the last part of a statement; its parameters start at `first`. */
export function auditInsert(first: number): string {
  const p = (offset: number) => `$${first + offset}`;
  return `INSERT INTO audit_log (action, outcome, provider, event_id, correlation_id, actor, metadata)
          SELECT * FROM unnest(${p(0)}::text[], ${p(1)}::text[], ${p(2)}::text[], ${p(3)}::uuid[], ${p(4)}::text[],
                               ${p(5)}::text[], ${p(6)}::jsonb[])`;
}

export function auditParams(entries: readonly AuditEntry[]): unknown[] {
  return [
    entries.map((entry) => entry.action),
    entries.map((entry) => entry.outcome),
    entries.map((entry) => entry.provider ?? null),
    entries.map((entry) => entry.eventId ?? null),
    entries.map((entry) => entry.correlationId ?? null),
    entries.map((entry) => entry.actor ?? 'system'),
    entries.map((entry) => JSON.stringify(entry.metadata ?? {})),
  ];
}
