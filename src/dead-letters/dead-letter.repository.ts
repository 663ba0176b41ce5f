import { Injectable } from '@nestjs/common';
import { Sql } from '../platform/database/sql';

export const DEAD_LETTER_STATUSES = ['pending', 'replayed', 'resolved'] as const;
export type DeadLetterStatus = (typeof DEAD_LETTER_STATUSES)[number];

export interface DeadLetterFilter {
  provider?: string;
  category?: string;
  /** Default pending; `all` for every status. */
  status?: DeadLetterStatus | 'all';
  source?: string;
  from?: Date;
  to?: Date;
  ids?: readonly string[];
}

/** Position in the (created_at DESC, id DESC) order; `createdAt` keeps Postgres' microseconds. */
export interface DeadLetterPosition {
  createdAt: string;
  id: string;
}

export interface DeadLetterRecord {
  id: string;
  source: string;
  eventId: string | null;
  receiptId: string | null;
  provider: string | null;
  correlationId: string | null;
  category: string;
  error: string;
  attempts: number;
  jobId: string | null;
  status: DeadLetterStatus;
  firstFailedAt: Date;
  lastFailedAt: Date;
  replayCount: number;
  replayedAt: Date | null;
  createdAt: Date;
  /** Outbound dead letters: the delivery and its endpoint (retried through the endpoints API). */
  deliveryId: string | null;
  endpointId: string | null;
  position: string;
}

export interface DeadLetterDetailRecord extends DeadLetterRecord {
  event: {
    kind: string;
    channel: string;
    status: string;
    attempts: number;
    priority: number;
    receivedAt: Date;
    startedAt: Date | null;
    processedAt: Date | null;
    lastErrorCategory: string | null;
  } | null;
  reply: {
    status: string;
    attempts: number;
    lastErrorCategory: string | null;
    lastHttpStatus: number | null;
    sentAt: Date | null;
  } | null;
  receipt: { receivedAt: Date; bodyBytes: number; eventCount: number; parseError: string | null } | null;
}

const COLUMNS = `d.id, d.source, d.event_id AS "eventId", d.receipt_id AS "receiptId", d.provider,
  d.correlation_id AS "correlationId", d.category, d.error, d.attempts, d.job_id AS "jobId", d.status,
  d.first_failed_at AS "firstFailedAt", d.last_failed_at AS "lastFailedAt", d.replay_count AS "replayCount",
  d.replayed_at AS "replayedAt", d.created_at AS "createdAt", d.delivery_id::text AS "deliveryId",
  d.endpoint_id AS "endpointId",
  to_char(d.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS position`;

/** WHERE clause for a filter; its parameters are appended to `params`. */
function whereClause(filter: DeadLetterFilter, params: unknown[]): string {
  const conditions: string[] = [];
  const add = (sql: (p: string) => string, value: unknown) => {
    params.push(value);
    conditions.push(sql(`$${params.length}`));
  };
  const status = filter.status ?? 'pending';
  if (status !== 'all') add((p) => `d.status = ${p}`, status);
  if (filter.provider) add((p) => `d.provider = ${p}`, filter.provider);
  if (filter.category) add((p) => `d.category = ${p}`, filter.category);
  if (filter.source) add((p) => `d.source = ${p}`, filter.source);
  if (filter.from) add((p) => `d.created_at >= ${p}`, filter.from);
  if (filter.to) add((p) => `d.created_at < ${p}`, filter.to);
  if (filter.ids) add((p) => `d.id = ANY(${p}::uuid[])`, filter.ids);
  return conditions.length > 0 ? conditions.join(' AND ') : 'true';
}

/**
 * Failed events and deliveries, without content: ids, category, sanitised error and timing only. Other rooms
 * write dead letters inside their own statements through dead-letter.sql.ts.
 */
@Injectable()
export class DeadLetterRepository {
  constructor(private readonly db: Sql) {}

  async countPending(): Promise<number> {
    const row = await this.db.one<{ n: number }>(
      `SELECT count(*)::int AS n FROM dead_letters WHERE status = 'pending'`,
    );
    return row?.n ?? 0;
  }

  /** A page in (created_at DESC, id DESC) order, after `after` when given. */
  async list(filter: DeadLetterFilter, after: DeadLetterPosition | null, limit: number): Promise<DeadLetterRecord[]> {
    const params: unknown[] = [];
    let where = whereClause(filter, params);
    if (after) {
      params.push(after.createdAt, after.id);
      where += ` AND (d.created_at, d.id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`;
    }
    params.push(limit);
    return this.db.query<DeadLetterRecord>(
      `SELECT ${COLUMNS} FROM dead_letters d WHERE ${where} ORDER BY d.created_at DESC, d.id DESC LIMIT $${params.length}`,
      params,
    );
  }

  async count(filter: DeadLetterFilter): Promise<{ events: number; receiptsOnly: number; outbound: number }> {
    const params: unknown[] = [];
    const row = await this.db.one<{ events: number; receipts_only: number; outbound: number }>(
      `SELECT count(*) FILTER (WHERE d.event_id IS NOT NULL)::int AS events,
              count(*) FILTER (WHERE d.event_id IS NULL AND d.receipt_id IS NOT NULL)::int AS receipts_only,
              count(*) FILTER (WHERE d.delivery_id IS NOT NULL)::int AS outbound
         FROM dead_letters d WHERE ${whereClause(filter, params)}`,
      params,
    );
    return { events: row?.events ?? 0, receiptsOnly: row?.receipts_only ?? 0, outbound: row?.outbound ?? 0 };
  }

  /** Event dead letters matching, oldest first, at most `limit`: what a dry run reports one by one. */
  async eventLetters(filter: DeadLetterFilter, limit: number): Promise<Array<{ id: string; eventId: string }>> {
    const params: unknown[] = [];
    const where = whereClause(filter, params);
    params.push(limit);
    return this.db.query(
      `SELECT d.id, d.event_id AS "eventId" FROM dead_letters d
        WHERE ${where} AND d.event_id IS NOT NULL ORDER BY d.created_at, d.id LIMIT $${params.length}`,
      params,
    );
  }

  /**
   * A bulk replay's next page, in creation order after `after`: pending event dead letters created up to
   * `until`, and, when `replayedSince` is given, those replayed since then too (a resumed replay counts what
   * it did before it was interrupted).
   */
  operationPage(
    filter: DeadLetterFilter,
    until: Date,
    after: DeadLetterPosition | null,
    replayedSince: Date | null,
    limit: number,
  ): Promise<Array<{ id: string; position: string; status: DeadLetterStatus }>> {
    const params: unknown[] = [];
    let where = whereClause({ ...filter, status: 'all' }, params);
    params.push(until, replayedSince);
    where += ` AND d.event_id IS NOT NULL AND d.created_at <= $${params.length - 1}
               AND (d.status = 'pending' OR (d.status = 'replayed' AND d.replayed_at >= $${params.length}))`;
    if (after) {
      params.push(after.createdAt, after.id);
      where += ` AND (d.created_at, d.id) > ($${params.length - 1}::timestamptz, $${params.length}::uuid)`;
    }
    params.push(limit);
    return this.db.query(
      `SELECT d.id, d.status, to_char(d.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS position
         FROM dead_letters d WHERE ${where} ORDER BY d.created_at, d.id LIMIT $${params.length}`,
      params,
    );
  }

  async find(id: string): Promise<DeadLetterDetailRecord | undefined> {
    return this.db.one<DeadLetterDetailRecord>(
      `SELECT ${COLUMNS},
              CASE WHEN e.id IS NULL THEN NULL ELSE json_build_object(
                'kind', e.kind, 'channel', e.channel, 'status', e.status, 'attempts', e.attempts, 'priority', e.priority,
                'receivedAt', e.received_at, 'startedAt', e.started_at,
                'processedAt', e.processed_at, 'lastErrorCategory', e.last_error_category) END AS event,
              CASE WHEN r.id IS NULL THEN NULL ELSE json_build_object(
                'status', r.status, 'attempts', r.attempts, 'lastErrorCategory', r.last_error_category,
                'lastHttpStatus', r.last_http_status, 'sentAt', r.sent_at) END AS reply,
              CASE WHEN w.id IS NULL THEN NULL ELSE json_build_object(
                'receivedAt', w.received_at, 'bodyBytes', w.body_bytes, 'eventCount', w.event_count,
                'parseError', w.parse_error) END AS receipt
         FROM dead_letters d
         LEFT JOIN inbound_events e ON e.id = d.event_id
         LEFT JOIN replies r ON r.event_id = d.event_id
         LEFT JOIN webhook_receipts w ON w.id = coalesce(d.receipt_id, e.receipt_id)
        WHERE d.id = $1`,
      [id],
    );
  }

  /**
   * The sealed event payload, or the sealed receipt body (for a dead letter without an event, and for an event
   * that was its receipt's only item: the body is its payload, stored once), the receipt the body is bound to,
   * and the patient it concerns (the sender; the recipient of an echo).
   */
  async sealedContent(id: string): Promise<SealedDeadLetterContent | undefined> {
    return this.db.one(
      `SELECT e.payload AS "eventPayload", coalesce(e.payload_in_receipt, false) AS "payloadInReceipt",
              CASE WHEN d.event_id IS NULL OR e.payload_in_receipt THEN w.body END AS "receiptBody",
              w.id AS "bodyReceiptId",
              CASE WHEN e.kind = 'message_echo' THEN e.recipient_id ELSE e.sender_id END AS "participantId"
         FROM dead_letters d
         LEFT JOIN inbound_events e ON e.id = d.event_id
         LEFT JOIN webhook_receipts w ON w.id = coalesce(d.receipt_id, e.receipt_id)
        WHERE d.id = $1`,
      [id],
    );
  }

  /** Deletes dead letters created before `cutoff`, in batches; returns how many. */
  async purgeCreatedBefore(cutoff: Date, batch = 5000): Promise<number> {
    let total = 0;
    for (;;) {
      const rows = await this.db.query<{ n: number }>(
        `WITH gone AS (
           DELETE FROM dead_letters WHERE id IN (SELECT id FROM dead_letters WHERE created_at < $1 LIMIT $2) RETURNING 1
         ) SELECT count(*)::int AS n FROM gone`,
        [cutoff, batch],
      );
      const n = rows[0]?.n ?? 0;
      total += n;
      if (n < batch) return total;
    }
  }
}

export interface SealedDeadLetterContent {
  eventPayload: Buffer | null;
  /** The event was its receipt's only item: `receiptBody` is its payload. */
  payloadInReceipt: boolean;
  receiptBody: Buffer | null;
  /** The receipt whose row the body is sealed for. */
  bodyReceiptId: string | null;
  participantId: string | null;
}
