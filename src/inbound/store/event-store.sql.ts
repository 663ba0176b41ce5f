import { SealedColumn, uuidKeyedColumn } from '../../platform/crypto/sealed-column';
import { RowBatch } from '../../platform/database/row-batch';
import { EventChannel, EventKind } from '../../providers/channel-provider';

/**
 * SQL for writing the event store's tables from other statements (a webhook's receipt, a replayed body,
 * processing's last write, a dead letter), so each stays one statement while the store is the only author
 * of webhook_receipts, inbound_events and inbound_enqueue_outbox. Parameters start at `first`.
 */

/** An event as the store writes it. */
export interface EventRow {
  id: string;
  receiptId: string;
  provider: string;
  kind: EventKind;
  channel: EventChannel;
  idempotencyKey: string;
  accountId: string | null;
  senderId: string | null;
  recipientId: string | null;
  metaMessageId: string | null;
  occurredAt: Date | null;
  /** Null: the payload is the receipt's body (a receipt of one event), which is not sealed twice. */
  sealedPayload: Buffer | null;
  correlationId: string;
  /** Above 0: a VIP sender's event (inbound_events.priority), kept by the relay and replays. */
  priority: number;
}

/**
 * Three CTEs: `incoming` (the rows, 14 parameters from `first`), `inserted` (the id and key of those
 * whose idempotency key was new; only when `when` holds) and `outbox` (the new ones, for the queue).
 */
export function storeEvents(first: number, when = 'true'): string {
  const p = (offset: number) => `$${first + offset}`;
  return `incoming AS (
         SELECT * FROM unnest(${p(0)}::uuid[], ${p(1)}::uuid[], ${p(2)}::text[], ${p(3)}::text[], ${p(4)}::text[],
                              ${p(5)}::text[], ${p(6)}::text[], ${p(7)}::text[], ${p(8)}::text[], ${p(9)}::text[],
                              ${p(10)}::timestamptz[], ${p(11)}::bytea[], ${p(12)}::text[], ${p(13)}::smallint[])
                AS i(id, receipt_id, provider, kind, channel, idempotency_key, account_id, sender_id, recipient_id,
                     meta_message_id, occurred_at, payload, correlation_id, priority)
       ), inserted AS (
         INSERT INTO inbound_events (id, receipt_id, provider, kind, channel, idempotency_key, account_id, sender_id,
                                     recipient_id, meta_message_id, occurred_at, payload, correlation_id, priority,
                                     payload_in_receipt)
         SELECT *, payload IS NULL FROM incoming WHERE ${when}
         ON CONFLICT (idempotency_key) DO NOTHING
         RETURNING id, idempotency_key
       ), outbox AS (
         INSERT INTO inbound_enqueue_outbox (event_id) SELECT id FROM inserted
       )`;
}

export function eventRowParams(rows: readonly EventRow[]): unknown[] {
  return [
    rows.map((row) => row.id),
    rows.map((row) => row.receiptId),
    rows.map((row) => row.provider),
    rows.map((row) => row.kind),
    rows.map((row) => row.channel),
    rows.map((row) => row.idempotencyKey),
    rows.map((row) => row.accountId),
    rows.map((row) => row.senderId),
    rows.map((row) => row.recipientId),
    rows.map((row) => row.metaMessageId),
    rows.map((row) => row.occurredAt),
    rows.map((row) => row.sealedPayload),
    rows.map((row) => row.correlationId),
    rows.map((row) => row.priority),
  ];
}

/** A malformed receipt whose body now parses: it loses its parse error (`receipt`, `eventCount`: SQL expressions). */
export function markReceiptParsed(receipt: string, eventCount: string, when: string): string {
  return `UPDATE webhook_receipts SET parse_error = NULL, event_count = ${eventCount} WHERE id = ${receipt} AND ${when}`;
}

/** The event failed for good (dead-lettered). */
export function failEvent(eventId: string, category: string): string {
  return `UPDATE inbound_events SET status = 'failed', last_error_category = ${category}, processed_at = now()
          WHERE id = ${eventId}`;
}

/** Processed: the events of `relation` (its column `column` holds their ids) that were being processed. */
export function completeEvents(relation: string, column: string): string {
  return `UPDATE inbound_events e SET status = 'processed', processed_at = now(), last_error_category = NULL
           FROM ${relation} f
          WHERE e.id = f.${column} AND e.status = 'processing'`;
}

/** Failed events of the replayed letters (`letters`: a relation with `event_id`) back to `received`. */
export function eventsBackToReceived(letters: string): string {
  return `UPDATE inbound_events e
            SET status = 'received', processed_at = NULL, last_error_category = NULL
           FROM ${letters} m WHERE e.id = m.event_id AND e.status = 'failed'`;
}

/** Undoes eventsBackToReceived for the letters of a replay that could not be queued. */
export function eventsBackToFailed(letters: string): string {
  return `UPDATE inbound_events e SET status = 'failed', processed_at = now()
           FROM ${letters} l WHERE e.id = l.event_id AND e.status = 'received'`;
}

/**
 * Retention: raw bodies of receipts received before the cutoff, unless the body is also its event's payload
 * and that payload is still kept: the event unfinished, processed after the cutoff, or dead-lettered
 * (expireFailedReceiptBodies takes those, by the dead-letter period).
 */
export const expireReceiptBodies: RowBatch = {
  pick: `SELECT id FROM webhook_receipts r WHERE body IS NOT NULL AND received_at < $1
            AND NOT EXISTS (SELECT 1 FROM inbound_events e
                             WHERE e.receipt_id = r.id AND e.payload_in_receipt
                               AND NOT (e.status = 'processed' AND e.processed_at < $1))
          ORDER BY received_at`,
  change: `UPDATE webhook_receipts r SET body = NULL FROM doomed WHERE r.id = doomed.id`,
};

/** Retention: bodies that are the payload of an event dead-lettered before the cutoff, unless a dead letter still waits. */
export const expireFailedReceiptBodies: RowBatch = {
  pick: `SELECT r.id FROM webhook_receipts r JOIN inbound_events e ON e.receipt_id = r.id AND e.payload_in_receipt
          WHERE r.body IS NOT NULL AND e.status = 'failed' AND e.processed_at < $1
            AND NOT EXISTS (SELECT 1 FROM dead_letters d WHERE d.event_id = e.id AND d.status = 'pending')
          ORDER BY r.received_at`,
  change: `UPDATE webhook_receipts r SET body = NULL FROM doomed WHERE r.id = doomed.id`,
};

/** Retention: payloads of events processed before the cutoff (nothing reads them again). */
export const expireProcessedPayloads: RowBatch = {
  pick: `SELECT id FROM inbound_events
        WHERE payload IS NOT NULL AND status = 'processed' AND processed_at < $1 ORDER BY processed_at`,
  change: `UPDATE inbound_events e SET payload = NULL FROM doomed WHERE e.id = doomed.id`,
};

/** Retention: payloads of dead-lettered events past the cutoff, unless a dead letter still waits to be replayed. */
export const expireFailedPayloads: RowBatch = {
  pick: `SELECT id FROM inbound_events e
        WHERE payload IS NOT NULL AND status = 'failed' AND processed_at < $1
          AND NOT EXISTS (SELECT 1 FROM dead_letters d WHERE d.event_id = e.id AND d.status = 'pending')
        ORDER BY processed_at`,
  change: `UPDATE inbound_events e SET payload = NULL FROM doomed WHERE e.id = doomed.id`,
};

/** Erasure: raw bodies of the receipts of events $1, and of receipts $2. */
export const eraseReceiptBodies = `UPDATE webhook_receipts SET body = NULL
          WHERE (id IN (SELECT receipt_id FROM inbound_events WHERE id = ANY($1::uuid[])) OR id = ANY($2::uuid[]))
            AND body IS NOT NULL`;

/** Erasure: payloads of events $1 (one that was its receipt's body goes with that body: it has none left anywhere). */
export const eraseEventPayloads = `UPDATE inbound_events SET payload = NULL, payload_in_receipt = false
          WHERE id = ANY($1::uuid[]) AND (payload IS NOT NULL OR payload_in_receipt)`;

/** Erasure: participant $2 becomes fingerprint $3 in events $1 ($4: $2 as a regular expression literal); unfinished ones end as failed ('erased'). */
export const pseudonymiseEvents = `UPDATE inbound_events
            SET sender_id = CASE WHEN sender_id = $2 THEN $3 ELSE sender_id END,
                recipient_id = CASE WHEN recipient_id = $2 THEN $3 ELSE recipient_id END,
                idempotency_key = regexp_replace(idempotency_key, '(^|:)' || $4 || '(:|$)', '\\1' || $3 || '\\2', 'g'),
                status = CASE WHEN status IN ('received', 'processing') THEN 'failed' ELSE status END,
                last_error_category = CASE WHEN status IN ('received', 'processing') THEN 'erased' ELSE last_error_category END,
                processed_at = coalesce(processed_at, now())
          WHERE id = ANY($1::uuid[])`;

/** The sealed columns of the inbound store, for re-encryption (platform/crypto/sealed-column.ts). */
export const inboundStoreSealedColumns: SealedColumn[] = [
  uuidKeyedColumn('webhook_receipts.body', 'webhook_receipts', 'body'),
  uuidKeyedColumn('inbound_events.payload', 'inbound_events', 'payload'),
];
