import { RowBatch } from '../platform/database/row-batch';
import { AuditEntry } from './audit-actions';

/** audit_log's columns, in the one order every insert writes them. */
const AUDIT_COLUMNS = ['action', 'outcome', 'provider', 'event_id', 'correlation_id', 'actor', 'metadata'] as const;
export type AuditColumn = (typeof AUDIT_COLUMNS)[number];
const COLUMN_LIST = AUDIT_COLUMNS.join(', ');

/** An `INSERT INTO audit_log` for use as the last part of a statement; its parameters start at `first`. */
export function auditInsert(first: number): string {
  const p = (offset: number) => `$${first + offset}`;
  return `INSERT INTO audit_log (${COLUMN_LIST})
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

/**
 * One SELECT of audit rows computed in SQL, for insertAudit: an SQL expression per column (unset: NULL,
 * actor `'system'`, metadata `'{}'`) and the rest of the query (`FROM …`, `WHERE …`).
 */
export function auditRows(
  values: Partial<Record<AuditColumn, string>> & { action: string; outcome: string },
  rest = '',
) {
  const defaults: Record<AuditColumn, string> = {
    action: 'NULL',
    outcome: 'NULL',
    provider: 'NULL::text',
    event_id: 'NULL::uuid',
    correlation_id: 'NULL::text',
    actor: `'system'`,
    metadata: `'{}'::jsonb`,
  };
  return `SELECT ${AUDIT_COLUMNS.map((column) => values[column] ?? defaults[column]).join(', ')} ${rest}`;
}

/** `INSERT INTO audit_log` of the rows of one or more auditRows selects. */
export function insertAudit(...selects: string[]): string {
  return `INSERT INTO audit_log (${COLUMN_LIST})
         ${selects.join('\n         UNION ALL\n         ')}`;
}

/**
 * Retention of audit entries: the one database function that may delete them (SECURITY DEFINER, at most
 * $2 rows older than $1, never younger than a day), so the application needs no DELETE right on audit_log.
 */
export const expireAuditEntries = `SELECT audit_log_expire($1, $2) AS n`;
