import { RowBatch } from '../platform/database/row-batch';

/**
 * SQL for writing dead_letters from other rooms' statements, so that a write that spans tables stays one
 * statement (and one commit) while dead-letters remains the table's only author. Parameter numbers start
 * at `first`; relation names are CTEs of the calling statement.
 */

/** Malformed-body dead letters of receipts stored in the same statement; `rows`: (id, receipt_id, provider, correlation_id, error). */
export function insertMalformedLetters(rows: string): string {
  return `INSERT INTO dead_letters (id, source, receipt_id, provider, correlation_id, category, error, attempts)
         SELECT id, 'inbound', receipt_id, provider, correlation_id, 'malformed', error, 0 FROM ${rows}`;
}

export interface EventLetter {
  id: string;
  source: 'inbound';
  eventId: string;
  provider: string;
  correlationId: string;
  category: string;
  /** Sanitised: status and error codes only. */
  error: string;
  attempts: number;
  jobId: string | null;
}

/** An inbound event's dead letter, or new attempt figures on the one already pending for it (9 parameters). */
export function upsertEventLetter(first: number): string {
  const p = (offset: number) => `$${first + offset}`;
  return `INSERT INTO dead_letters (id, source, event_id, provider, correlation_id, category, error, attempts, job_id)
         VALUES (${[0, 1, 2, 3, 4, 5, 6, 7, 8].map(p).join(', ')})
         ON CONFLICT (event_id) WHERE status = 'pending' AND event_id IS NOT NULL DO UPDATE
            SET category = EXCLUDED.category, error = EXCLUDED.error, attempts = EXCLUDED.attempts,
                job_id = EXCLUDED.job_id, last_failed_at = now()`;
}

export function eventLetterParams(letter: EventLetter): unknown[] {
  return [
    letter.id,
    letter.source,
    letter.eventId,
    letter.provider,
    letter.correlationId,
    letter.category,
    letter.error,
    letter.attempts,
    letter.jobId,
  ];
}

export interface DeliveryLetter {
  id: string;
  deliveryId: string;
  endpointId: string;
  eventId: string;
  correlationId: string | null;
  category: string;
  error: string;
  attempts: number;
  jobId: string | null;
}

/** An exhausted outbound delivery's dead letter (no content: ids, category, status codes), 9 parameters. */
export function upsertDeliveryLetter(first: number): string {
  const p = (offset: number) => `$${first + offset}`;
  return `INSERT INTO dead_letters (id, source, provider, correlation_id, category, error, attempts, job_id,
                                   delivery_id, endpoint_id, outbound_event_id)
         VALUES (${p(0)}, 'outbound', 'outbound', ${p(1)}, ${p(2)}, ${p(3)}, ${p(4)}, ${p(5)}, ${p(6)}, ${p(7)}, ${p(8)})
         ON CONFLICT (delivery_id) WHERE status = 'pending' AND delivery_id IS NOT NULL DO UPDATE
            SET category = EXCLUDED.category, error = EXCLUDED.error, attempts = EXCLUDED.attempts,
                job_id = EXCLUDED.job_id, last_failed_at = now()`;
}

export function deliveryLetterParams(letter: DeliveryLetter): unknown[] {
  return [
    letter.id,
    letter.correlationId,
    letter.category,
    letter.error,
    letter.attempts,
    letter.jobId,
    letter.deliveryId,
    letter.endpointId,
    letter.eventId,
  ];
}

/** A message sent through POST /messages that failed for good (ids, category, status codes: no text), 7 parameters. */
export function upsertMessageLetter(first: number): string {
  const p = (offset: number) => `$${first + offset}`;
  return `INSERT INTO dead_letters (id, source, message_id, provider, correlation_id, category, error, attempts, job_id)
         VALUES (${p(0)}, 'message', ${p(1)}::uuid, ${p(2)}, ${p(3)}, ${p(4)}, ${p(5)}, ${p(6)}, ${p(1)}::uuid::text)
         ON CONFLICT (message_id) WHERE status = 'pending' AND message_id IS NOT NULL DO UPDATE
            SET category = EXCLUDED.category, error = EXCLUDED.error, attempts = EXCLUDED.attempts,
                last_failed_at = now()`;
}

/** The pending dead letters of deliveries put back to pending (`deliveries`: a relation with their `id`). */
export function markDeliveryLettersReplayed(deliveries: string): string {
  return `UPDATE dead_letters SET status = 'replayed', replayed_at = now(), replay_count = replay_count + 1
          WHERE delivery_id IN (SELECT id FROM ${deliveries}) AND status = 'pending'`;
}

/**
 * Two CTEs: `letters` locks the pending event dead letters among the ids (parameter `ids`, skipping locked
 * rows), `marked` marks them replayed and returns (id, event_id, replay_count, provider, correlation_id, category).
 */
export function markEventLettersReplayed(ids: string): string {
  return `letters AS (
         SELECT id FROM dead_letters
          WHERE id = ANY(${ids}::uuid[]) AND status = 'pending' AND event_id IS NOT NULL
          FOR UPDATE SKIP LOCKED
       ), marked AS (
         UPDATE dead_letters d
            SET status = 'replayed', replay_count = d.replay_count + 1, replayed_at = now()
           FROM letters l WHERE d.id = l.id
          RETURNING d.id, d.event_id, d.replay_count, d.provider, d.correlation_id, d.category
       )`;
}

/** A malformed-body dead letter marked replayed (parameter `id`); returns (id, replay_count) when it was pending. */
export function markReceiptLetterReplayed(id: string): string {
  return `UPDATE dead_letters SET status = 'replayed', replay_count = replay_count + 1, replayed_at = now()
          WHERE id = ${id} AND status = 'pending' AND event_id IS NULL
          RETURNING id, replay_count`;
}

/** Undoes markEventLettersReplayed for the ids (parameter `ids`); returns (id, event_id, provider, correlation_id). */
export function revertLettersReplayed(ids: string): string {
  return `UPDATE dead_letters SET status = 'pending', replay_count = replay_count - 1, replayed_at = NULL
          WHERE id = ANY(${ids}::uuid[]) AND status = 'replayed'
          RETURNING id, event_id, provider, correlation_id`;
}

/** Retention: dead letters created before the cutoff. */
export const expireDeadLetters: RowBatch = {
  pick: `SELECT id FROM dead_letters WHERE created_at < $1 ORDER BY created_at`,
  change: `DELETE FROM dead_letters d USING doomed WHERE d.id = doomed.id`,
};
