import { Readable } from 'node:stream';
import { AuditLogFilter, AuditLogRepository, AuditLogRow } from './audit-log.repository';

const PAGE = 1000;
const COLUMNS = [
  'id',
  'occurred_at',
  'action',
  'outcome',
  'provider',
  'event_id',
  'correlation_id',
  'actor',
  'metadata',
] as const;

/** RFC 4180 quoting; a cell a spreadsheet would run as a formula gets a leading apostrophe. */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  let text =
    value instanceof Date ? value.toISOString() : typeof value === 'object' ? JSON.stringify(value) : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function csvLine(row: AuditLogRow): string {
  return [
    row.id,
    row.occurredAt,
    row.action,
    row.outcome,
    row.provider,
    row.eventId,
    row.correlationId,
    row.actor,
    row.metadata,
  ]
    .map(csvCell)
    .join(',');
}

/**
 * The matching audit entries as CSV, read page by page (keyset on id) as the client consumes it: memory
 * stays at one page whatever the size of the export.
 */
export function auditLogCsv(repository: AuditLogRepository, filter: AuditLogFilter, beforeId: string | null): Readable {
  async function* lines(): AsyncGenerator<string> {
    yield `${COLUMNS.join(',')}\r\n`;
    let cursor = beforeId;
    for (;;) {
      const rows = await repository.page(filter, cursor, PAGE);
      if (rows.length === 0) return;
      yield rows.map((row) => `${csvLine(row)}\r\n`).join('');
      if (rows.length < PAGE) return;
      cursor = rows[rows.length - 1].id;
    }
  }
  return Readable.from(lines(), { objectMode: false, highWaterMark: 1 });
}
