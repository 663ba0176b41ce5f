import { SealedColumn, uuidKeyedColumn } from '../../platform/crypto/sealed-column';
import { RowBatch } from '../../platform/database/row-batch';

/**
 * SQL for writing outbound events, deliveries and attempts from other rooms' statements (retention,
 * erasure), outbound/delivery being their only author.
 */

/** Retention: attempts created before the cutoff (ids grow with time, so the oldest come first by key). */
export const expireOutboundAttempts: RowBatch = {
  pick: `SELECT id FROM outbound_attempts WHERE created_at < $1 ORDER BY id`,
  change: `DELETE FROM outbound_attempts a USING doomed WHERE a.id = doomed.id`,
};

/** Retention: finished deliveries only (a pending one is still owed to its subscriber). */
export const expireOutboundDeliveries: RowBatch = {
  pick: `SELECT id FROM outbound_deliveries WHERE created_at < $1 AND status <> 'pending' ORDER BY id`,
  change: `DELETE FROM outbound_deliveries d USING doomed WHERE d.id = doomed.id`,
};

/** Retention: events whose deliveries are all gone (uuid v7 ids are time-ordered too). */
export const expireOutboundEvents: RowBatch = {
  pick: `SELECT id FROM outbound_events e
        WHERE created_at < $1 AND NOT EXISTS (SELECT 1 FROM outbound_deliveries d WHERE d.event_id = e.id)
        ORDER BY id`,
  change: `DELETE FROM outbound_events e USING doomed WHERE e.id = doomed.id`,
};

/** Erasure: the system events with idempotency keys $1, returning their ids. */
export const eraseSystemEvents = `DELETE FROM outbound_events WHERE publisher = 'system' AND idempotency_key = ANY($1::text[]) RETURNING id`;

/** Erasure: the attempts of events $1 (through the deliveries: both lookups are indexed, outbound_attempts.event_id is not). */
export const eraseEventAttempts = `DELETE FROM outbound_attempts
          WHERE delivery_id IN (SELECT id FROM outbound_deliveries WHERE event_id = ANY($1::uuid[]))`;

/** Erasure: the deliveries of events $1. */
export const eraseEventDeliveries = `DELETE FROM outbound_deliveries WHERE event_id = ANY($1::uuid[])`;

/** Outbound event data and subscribers' kept answers, for re-encryption. */
export const deliverySealedColumns: SealedColumn[] = [
  uuidKeyedColumn('outbound_events.data', 'outbound_events', 'data_sealed'),
  {
    field: 'outbound_attempts.response',
    table: 'outbound_attempts',
    column: 'response_sealed',
    key: 't.id',
    keyType: 'bigint',
    rowId: `t.delivery_id::text || ':' || t.attempt::text`,
    array: false,
    reseal: `UPDATE outbound_attempts t SET response_sealed = u.new
               FROM unnest($1::bigint[], $2::bytea[], $3::bytea[]) AS u(id, old, new)
              WHERE t.id = u.id AND t.response_sealed = u.old`,
  },
];
