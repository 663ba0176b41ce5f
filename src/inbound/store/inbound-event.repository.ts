import { Injectable } from '@nestjs/common';
import { GroupCommit } from '../../platform/database/group-commit';
import { Sql } from '../../platform/database/sql';
import { AuditAction, AuditEntry } from '../../audit/audit-actions';
import { auditInsert, auditParams, auditRows, insertAudit } from '../../audit/audit-sql';
import { insertMalformedLetters } from '../../dead-letters/dead-letter.sql';
import { EventRow, eventRowParams, storeEvents } from './event-store.sql';
import { EventChannel, EventKind } from '../../providers/channel-provider';

export interface ReceiptToStore {
  id: string;
  provider: string;
  correlationId: string;
  sealedBody: Buffer;
  bodyBytes: number;
  /** Set when the body was signed but is not a Meta envelope: stored, then dead-lettered as `malformed`. */
  parseError: string | null;
  /** Items the body carried (repeats and unreadable items included); defaults to the number of events. */
  itemCount?: number;
  events: EventToStore[];
}

export interface EventToStore {
  id: string;
  kind: EventKind;
  channel: EventChannel;
  idempotencyKey: string;
  accountId: string | null;
  senderId: string | null;
  recipientId: string | null;
  metaMessageId: string | null;
  occurredAt: Date | null;
  /** Null: the event is its receipt's only item, and the receipt's sealed body is its payload. */
  sealedPayload: Buffer | null;
  /** BullMQ priority (VIP senders); 0 for none. Stored so the relay and replays keep it. */
  priority?: number;
  /** More copies of this key in the same body, folded into this event: audited as one duplicate entry. */
  repeats?: number;
}

export interface ClaimedEvent {
  id: string;
  provider: string;
  kind: EventKind;
  channel: EventChannel;
  accountId: string | null;
  senderId: string | null;
  recipientId: string | null;
  metaMessageId: string | null;
  occurredAt: Date | null;
  /** When Switchboard stored the event: what orders and retains it (Meta's `occurredAt` is data). */
  receivedAt: Date;
  /** The sealed payload; with `payloadInReceipt`, the receipt's sealed body (its only event's payload). */
  sealedPayload: Buffer;
  payloadInReceipt: boolean;
  /** The receipt that carried it (the row a receipt's sealed body belongs to). */
  receiptId: string;
  correlationId: string;
  attempts: number;
}

export interface QueueableEvent {
  id: string;
  /** Above 0: a VIP sender's event, taken off the queue before the others. */
  priority: number;
  /** Defaults to the event id; a replay needs a new one (the failed job keeps the old id). */
  jobId?: string;
  /** Epoch ms before which the job must not run (a send slot reserved for it). */
  notBefore?: number;
  /** With tracing on: the trace of the request that stored it, for its job (a traceparent, ids only). */
  traceMetadata?: string;
}

/**
 * The audit entry of an event names the row its key is stored under: this one, another receipt's of the
 * same statement (a statement does not see its own rows), or one stored before. The last is a subquery on
 * the unique key, evaluated only for a duplicate (coalesce stops at the first non-null): an index probe in
 * any plan, where a join could become a hash join over the whole table in a plan made while it was small.
 */
const SAME_KEY_JOINS = `LEFT JOIN inserted n ON n.id = i.id
              LEFT JOIN inserted same ON n.id IS NULL AND same.idempotency_key = i.idempotency_key`;
const STORED_EVENT_ID = `coalesce(n.id, same.id,
                   (SELECT original.id FROM inbound_events original WHERE original.idempotency_key = i.idempotency_key))`;

/**
 * Receipts, their events, malformed-body dead letters and the audit entries, in one statement. It runs as a
 * named prepared statement: parsing and planning it cost Postgres more than executing it for a few receipts
 * (bench/JOURNAL.md). Its generic plan, made once per connection and kept as the tables grow, must therefore
 * reach existing rows by index only: test/ingest-statement-plan.e2e-spec.ts checks that on empty tables.
 */
export const STORE_RECEIPTS = `WITH receipts AS (
     INSERT INTO webhook_receipts (id, provider, correlation_id, body_bytes, event_count, body, parse_error)
     SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::int[], $5::int[], $6::bytea[], $7::text[])
   ), ${storeEvents(8)}, malformed AS (
     SELECT * FROM unnest($22::uuid[], $23::uuid[], $24::text[], $25::text[], $26::text[])
            AS m(id, receipt_id, provider, correlation_id, error)
   ), letters AS (
     ${insertMalformedLetters('malformed')}
   ), audited AS (
     ${insertAudit(
       auditRows(
         {
           action: `CASE WHEN n.id IS NULL THEN '${AuditAction.EventDuplicate}' ELSE '${AuditAction.EventReceived}' END`,
           outcome: `CASE WHEN n.id IS NULL THEN 'duplicate' ELSE 'success' END`,
           provider: 'i.provider',
           event_id: STORED_EVENT_ID,
           correlation_id: 'i.correlation_id',
           metadata: `jsonb_build_object('kind', i.kind, 'channel', i.channel, 'receiptId', i.receipt_id)`,
         },
         `FROM incoming i ${SAME_KEY_JOINS}`,
       ),
       auditRows(
         {
           action: `'${AuditAction.EventDuplicate}'`,
           outcome: `'duplicate'`,
           provider: 'i.provider',
           event_id: STORED_EVENT_ID,
           correlation_id: 'i.correlation_id',
           metadata: `jsonb_build_object('kind', i.kind, 'channel', i.channel, 'receiptId', i.receipt_id,
                                         'repeats', r.repeats)`,
         },
         `FROM unnest($8::uuid[], $27::int[]) AS r(id, repeats)
          JOIN incoming i ON i.id = r.id ${SAME_KEY_JOINS}
          WHERE r.repeats > 0`,
       ),
       auditRows(
         {
           action: `'${AuditAction.WebhookMalformed}'`,
           outcome: `'failure'`,
           provider: 'm.provider',
           correlation_id: 'm.correlation_id',
           metadata: `jsonb_build_object('receiptId', m.receipt_id, 'reason', m.error, 'deadLetterId', m.id)`,
         },
         'FROM malformed m',
       ),
     )}
   )
   SELECT id FROM inserted`;

/**
 * The inbound event store. Idempotency lives here: an event's key is unique, so a second delivery of
 * the same Meta event inserts nothing and is reported as a duplicate.
 */
@Injectable()
export class InboundEventRepository {
  constructor(private readonly db: Sql) {}

  /**
   * Stores receipts, their events, malformed-body dead letters and the audit entries in ONE statement
   * (one round trip, one commit). Returns the ids of the events that were new. `timeoutMs`: the statement
   * may run that long instead of the usual statement timeout (a receipt with very many events).
   */
  async storeReceipts(receipts: readonly ReceiptToStore[], timeoutMs?: number): Promise<Set<string>> {
    const events: (EventRow & { repeats: number })[] = receipts.flatMap((receipt) =>
      receipt.events.map((event) => ({
        ...event,
        receiptId: receipt.id,
        provider: receipt.provider,
        correlationId: receipt.correlationId,
        priority: event.priority ?? 0,
        repeats: event.repeats ?? 0,
      })),
    );
    const malformed = receipts.filter((receipt) => receipt.parseError !== null);
    const query = <T extends { id: string }>(text: string, values: unknown[]) =>
      timeoutMs === undefined
        ? this.db.prepared<T>('store_receipts', text, values)
        : this.db.queryWithin<T>(timeoutMs, text, values);
    const rows = await query<{ id: string }>(STORE_RECEIPTS, [
      receipts.map((receipt) => receipt.id),
      receipts.map((receipt) => receipt.provider),
      receipts.map((receipt) => receipt.correlationId),
      receipts.map((receipt) => receipt.bodyBytes),
      receipts.map((receipt) => receipt.itemCount ?? receipt.events.length),
      receipts.map((receipt) => receipt.sealedBody),
      receipts.map((receipt) => receipt.parseError),
      ...eventRowParams(events),
      malformed.map((receipt) => receipt.events[0]?.id ?? receipt.id),
      malformed.map((receipt) => receipt.id),
      malformed.map((receipt) => receipt.provider),
      malformed.map((receipt) => receipt.correlationId),
      malformed.map((receipt) => receipt.parseError),
      events.map((event) => event.repeats),
    ]);
    return new Set(rows.map((row) => row.id));
  }

  /**
   * Takes an event for processing. Null when it is already finished (processed or dead-lettered).
   * Concurrent jobs share one UPDATE and one commit (group commit).
   */
  async claim(eventId: string): Promise<ClaimedEvent | null> {
    return this.claims.submit(eventId);
  }

  private readonly claims = new GroupCommit<string, ClaimedEvent | null>(
    async (eventIds) => {
      const rows = await this.db.query(
        `UPDATE inbound_events
            SET status = 'processing', attempts = attempts + 1, started_at = now()
          WHERE id = ANY($1::uuid[]) AND status IN ('received', 'processing')
          RETURNING id, provider, kind, channel, account_id, sender_id, recipient_id, meta_message_id, occurred_at,
                    received_at, correlation_id, attempts, payload_in_receipt, receipt_id,
                    CASE WHEN payload_in_receipt
                         THEN (SELECT body FROM webhook_receipts r WHERE r.id = inbound_events.receipt_id)
                         ELSE payload END AS payload`,
        [eventIds],
      );
      const claimed = new Map(rows.map((row) => [row.id as string, row]));
      return eventIds.map((id) => {
        const row = claimed.get(id);
        return row ? toClaimedEvent(row) : null;
      });
    },
    { name: 'claims', maxBatchWeight: 200, maxInFlight: 2, maxPending: 10_000 },
  );

  /** Marks the event processed and appends its audit entries, in one statement. */
  async complete(eventId: string, audit: readonly AuditEntry[]): Promise<void> {
    await this.db.query(
      `WITH event AS (
         UPDATE inbound_events SET status = 'processed', processed_at = now(), last_error_category = NULL
          WHERE id = $1 AND status = 'processing'
       )
       ${auditInsert(2)}`,
      [eventId, ...auditParams(audit)],
    );
  }

  /**
   * The events are on the queue: out of the outbox. Committed without waiting for the WAL flush: lost in
   * a Postgres crash, the relay enqueues the events again and the job id (= event id) makes that harmless.
   */
  async markQueued(eventIds: readonly string[]): Promise<void> {
    if (eventIds.length === 0) return;
    await this.db.query(
      `WITH relaxed AS (SELECT set_config('synchronous_commit', 'off', true))
       DELETE FROM inbound_enqueue_outbox USING relaxed WHERE event_id = ANY($1::uuid[])`,
      [eventIds],
    );
  }

  /** Redis lost its queue: these events go back into the outbox, for the relay. */
  async markUnqueued(eventIds: readonly string[]): Promise<void> {
    if (eventIds.length === 0) return;
    await this.db.query(
      `INSERT INTO inbound_enqueue_outbox (event_id) SELECT unnest($1::uuid[]) ON CONFLICT DO NOTHING`,
      [eventIds],
    );
  }

  /**
   * Stored but never handed to the queue (Redis was down, the process died between commit and enqueue,
   * or the backlog limit held them). A finished event's job is a no-op, so the outbox is not filtered by status.
   */
  async findUnqueued(olderThanMs: number, limit: number): Promise<QueueableEvent[]> {
    return this.db.query<QueueableEvent>(
      `SELECT o.event_id AS id, coalesce(e.priority, 0) AS priority
         FROM inbound_enqueue_outbox o LEFT JOIN inbound_events e ON e.id = o.event_id
        WHERE o.received_at < now() - make_interval(secs => $1::double precision / 1000)
        ORDER BY o.received_at
        LIMIT $2`,
      [olderThanMs, limit],
    );
  }

  /**
   * Unfinished events that left the outbox (their jobs were added): the ones Redis can have lost. Those still
   * in the outbox are the relay's ordinary work, and one whose job is being added right now is among them.
   */
  async findUnfinished(afterId: string | null, limit: number): Promise<QueueableEvent[]> {
    return this.db.query<QueueableEvent>(
      `SELECT id, priority FROM inbound_events e
        WHERE status IN ('received', 'processing') AND ($1::uuid IS NULL OR id > $1::uuid)
          AND NOT EXISTS (SELECT 1 FROM inbound_enqueue_outbox o WHERE o.event_id = e.id)
        ORDER BY id
        LIMIT $2`,
      [afterId, limit],
    );
  }
}

function toClaimedEvent(row: Record<string, unknown>): ClaimedEvent {
  return {
    id: row.id as string,
    provider: row.provider as string,
    kind: row.kind as EventKind,
    channel: row.channel as EventChannel,
    accountId: row.account_id as string | null,
    senderId: row.sender_id as string | null,
    recipientId: row.recipient_id as string | null,
    metaMessageId: row.meta_message_id as string | null,
    occurredAt: row.occurred_at as Date | null,
    receivedAt: row.received_at as Date,
    sealedPayload: row.payload as Buffer,
    payloadInReceipt: row.payload_in_receipt as boolean,
    receiptId: row.receipt_id as string,
    correlationId: row.correlation_id as string,
    attempts: row.attempts as number,
  };
}
