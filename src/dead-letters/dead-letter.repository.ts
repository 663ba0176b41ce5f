import { Injectable } from '@nestjs/common';
import { AuditAction, AuditEntry } from '../audit/audit-actions';
import { auditInsert, auditParams } from '../audit/audit-sql';
import { Sql } from '../platform/database/sql';
import { EventToStore } from '../inbound/store/inbound-event.repository';

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

export interface ReplayedLetter {
  id: string;
  eventId: string;
  replayCount: number;
  priority: number;
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

export interface DeadLetterInput {
  id: string;
  source: 'inbound' | 'outbound';
  eventId: string;
  provider: string;
  correlationId: string;
  category: string;
  /** Sanitised: status and error codes only. */
  error: string;
  attempts: number;
  jobId: string | null;
}

/** Failed events, without content: ids, category, sanitised error and timing only. */
@Injectable()
export class DeadLetterRepository {
  constructor(private readonly db: Sql) {}

  /**
   * Dead-letters an inbound event in one statement: the record (or, if one is already pending for the
   * event, its attempt figures), the event and its reply marked failed, and the audit entries.
   */
  async deadLetterInboundEvent(input: DeadLetterInput, audit: readonly AuditEntry[]): Promise<void> {
    await this.db.query(
      `WITH letter AS (
         INSERT INTO dead_letters (id, source, event_id, provider, correlation_id, category, error, attempts, job_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (event_id) WHERE status = 'pending' AND event_id IS NOT NULL DO UPDATE
            SET category = EXCLUDED.category, error = EXCLUDED.error, attempts = EXCLUDED.attempts,
                job_id = EXCLUDED.job_id, last_failed_at = now()
       ), event AS (
         UPDATE inbound_events SET status = 'failed', last_error_category = $6, processed_at = now() WHERE id = $3
       ), reply AS (
         UPDATE replies SET status = 'failed', last_error_category = $6, updated_at = now()
          WHERE event_id = $3 AND status IN ('sending', 'retrying')
       )
       ${auditInsert(10)}`,
      [
        input.id,
        input.source,
        input.eventId,
        input.provider,
        input.correlationId,
        input.category,
        input.error,
        input.attempts,
        input.jobId,
        ...auditParams(audit),
      ],
    );
  }

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

  /** Ids of pending, replayable (event) dead letters created up to `until`, in creation order, after `after`. */
  async replayablePage(
    filter: DeadLetterFilter,
    until: Date,
    after: { createdAt: string; id: string } | null,
    limit: number,
  ): Promise<Array<{ id: string; position: string }>> {
    const params: unknown[] = [];
    let where = whereClause({ ...filter, status: 'pending' }, params);
    params.push(until);
    where += ` AND d.event_id IS NOT NULL AND d.created_at <= $${params.length}`;
    if (after) {
      params.push(after.createdAt, after.id);
      where += ` AND (d.created_at, d.id) > ($${params.length - 1}::timestamptz, $${params.length}::uuid)`;
    }
    params.push(limit);
    return this.db.query(
      `SELECT d.id, to_char(d.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS position
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

  /** The sealed event payload, or the sealed receipt body for a dead letter without an event. */
  async sealedContent(id: string): Promise<{ eventPayload: Buffer | null; receiptBody: Buffer | null } | undefined> {
    return this.db.one(
      `SELECT e.payload AS "eventPayload", CASE WHEN d.event_id IS NULL THEN w.body END AS "receiptBody"
         FROM dead_letters d
         LEFT JOIN inbound_events e ON e.id = d.event_id
         LEFT JOIN webhook_receipts w ON w.id = d.receipt_id
        WHERE d.id = $1`,
      [id],
    );
  }

  /**
   * Puts pending event dead letters back in the pipeline, in one statement: each letter marked replayed,
   * its event back to `received` (not in the outbox: the paced replay enqueues it, not the relay), a failed reply back to
   * `retrying` (a sent one is never touched), and one audit entry per letter. Locked rows are skipped.
   */
  async markReplayed(ids: readonly string[], actor: string, bulkReplayId: string | null): Promise<ReplayedLetter[]> {
    if (ids.length === 0) return [];
    return this.db.query<ReplayedLetter>(
      `WITH letters AS (
         SELECT id FROM dead_letters
          WHERE id = ANY($1::uuid[]) AND status = 'pending' AND event_id IS NOT NULL
          FOR UPDATE SKIP LOCKED
       ), marked AS (
         UPDATE dead_letters d
            SET status = 'replayed', replay_count = d.replay_count + 1, replayed_at = now()
           FROM letters l WHERE d.id = l.id
          RETURNING d.id, d.event_id, d.replay_count, d.provider, d.correlation_id, d.category
       ), events AS (
         UPDATE inbound_events e
            SET status = 'received', processed_at = NULL, last_error_category = NULL
           FROM marked m WHERE e.id = m.event_id AND e.status = 'failed'
       ), replies AS (
         UPDATE replies r SET status = 'retrying', updated_at = now()
           FROM marked m WHERE r.event_id = m.event_id AND r.status = 'failed'
       ), audited AS (
         INSERT INTO audit_log (action, outcome, provider, event_id, correlation_id, actor, metadata)
         SELECT '${AuditAction.DeadLetterReplayed}', 'success', m.provider, m.event_id, m.correlation_id, $2,
                jsonb_strip_nulls(jsonb_build_object('deadLetterId', m.id, 'replayCount', m.replay_count,
                                                     'category', m.category, 'bulkReplayId', $3::text))
           FROM marked m
       )
       SELECT m.id, m.event_id AS "eventId", m.replay_count AS "replayCount", e.priority
         FROM marked m JOIN inbound_events e ON e.id = m.event_id`,
      [ids, actor, bulkReplayId],
    );
  }

  /**
   * Replays a malformed-body dead letter whose stored body now parses: in one statement the letter is marked
   * replayed, the events are stored under the original receipt (a known idempotency key is skipped), the
   * receipt loses its parse error, and the replay is audited. Null when the letter was not pending.
   */
  async replayReceipt(
    letter: { id: string; receiptId: string; provider: string; correlationId: string | null },
    events: readonly EventToStore[],
    actor: string,
  ): Promise<{ insertedIds: string[] } | null> {
    const [row] = await this.db.query<{ replayed: boolean; inserted: string[] | null }>(
      `WITH letter AS (
         UPDATE dead_letters SET status = 'replayed', replay_count = replay_count + 1, replayed_at = now()
          WHERE id = $1 AND status = 'pending' AND event_id IS NULL
          RETURNING id, replay_count
       ), incoming AS (
         SELECT * FROM unnest($3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
                              $10::text[], $11::timestamptz[], $12::bytea[])
                AS i(id, kind, channel, idempotency_key, account_id, sender_id, recipient_id, meta_message_id,
                     occurred_at, payload)
       ), inserted AS (
         INSERT INTO inbound_events (id, receipt_id, provider, kind, channel, idempotency_key, account_id, sender_id,
                                     recipient_id, meta_message_id, occurred_at, payload, correlation_id)
         SELECT i.id, $2, $13, i.kind, i.channel, i.idempotency_key, i.account_id, i.sender_id, i.recipient_id,
                i.meta_message_id, i.occurred_at, i.payload, $14
           FROM incoming i WHERE EXISTS (SELECT 1 FROM letter)
         ON CONFLICT (idempotency_key) DO NOTHING
         RETURNING id
       ), outbox AS (
         INSERT INTO inbound_enqueue_outbox (event_id) SELECT id FROM inserted
       ), receipt AS (
         UPDATE webhook_receipts SET parse_error = NULL, event_count = cardinality($3::uuid[])
          WHERE id = $2 AND EXISTS (SELECT 1 FROM letter)
       ), audited AS (
         INSERT INTO audit_log (action, outcome, provider, correlation_id, actor, metadata)
         SELECT '${AuditAction.DeadLetterReplayed}', 'success', $13, $14, $15,
                jsonb_build_object('deadLetterId', l.id, 'replayCount', l.replay_count, 'receiptId', $2::uuid,
                                   'events', cardinality($3::uuid[]), 'newEvents', (SELECT count(*) FROM inserted))
           FROM letter l
       )
       SELECT EXISTS (SELECT 1 FROM letter) AS replayed, (SELECT array_agg(id) FROM inserted) AS inserted`,
      [
        letter.id,
        letter.receiptId,
        events.map((event) => event.id),
        events.map((event) => event.kind),
        events.map((event) => event.channel),
        events.map((event) => event.idempotencyKey),
        events.map((event) => event.accountId),
        events.map((event) => event.senderId),
        events.map((event) => event.recipientId),
        events.map((event) => event.metaMessageId),
        events.map((event) => event.occurredAt),
        events.map((event) => event.sealedPayload),
        letter.provider,
        letter.correlationId ?? 'replay',
        actor,
      ],
    );
    return row?.replayed ? { insertedIds: row.inserted ?? [] } : null;
  }

  /** Undoes markReplayed when the jobs could not be queued (Redis unavailable): the letters are pending again. */
  async revertReplay(letters: readonly ReplayedLetter[], actor: string): Promise<void> {
    if (letters.length === 0) return;
    await this.db.query(
      `WITH letters AS (
         UPDATE dead_letters SET status = 'pending', replay_count = replay_count - 1, replayed_at = NULL
          WHERE id = ANY($1::uuid[]) AND status = 'replayed'
          RETURNING id, event_id, provider, correlation_id
       ), events AS (
         UPDATE inbound_events e SET status = 'failed', processed_at = now()
           FROM letters l WHERE e.id = l.event_id AND e.status = 'received'
       ), replies AS (
         UPDATE replies r SET status = 'failed', updated_at = now()
           FROM letters l WHERE r.event_id = l.event_id AND r.status = 'retrying'
       )
       INSERT INTO audit_log (action, outcome, provider, event_id, correlation_id, actor, metadata)
       SELECT '${AuditAction.DeadLetterReplayed}', 'failure', l.provider, l.event_id, l.correlation_id, $2,
              jsonb_build_object('deadLetterId', l.id, 'reason', 'queue_unavailable')
         FROM letters l`,
      [letters.map((letter) => letter.id), actor],
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
