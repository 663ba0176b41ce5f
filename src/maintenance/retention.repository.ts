import { Injectable } from '@nestjs/common';
import { PoolClient } from 'pg';
import { MaintenanceSql } from '../database/sql';

/**
 * One batch of each retention step. Every method is one short transaction over at most `limit` rows,
 * picked oldest first with SKIP LOCKED so it never waits on (or blocks for long) the ingest and
 * processing paths. Each returns how many rows it changed; the caller loops until a batch comes back short.
 */
@Injectable()
export class RetentionRepository {
  constructor(private readonly db: MaintenanceSql) {}

  clearReceiptBodies(receivedBefore: Date, limit: number): Promise<number> {
    return this.batch(
      `SELECT id FROM webhook_receipts WHERE body IS NOT NULL AND received_at < $1 ORDER BY received_at`,
      `UPDATE webhook_receipts r SET body = NULL FROM doomed WHERE r.id = doomed.id`,
      [receivedBefore, limit],
    );
  }

  /** By the time the message was stored, never by Meta's timestamp (a sender's clock is not ours). */
  clearMessageContent(storedBefore: Date, limit: number): Promise<number> {
    return this.batch(
      `SELECT id FROM messages WHERE content IS NOT NULL AND created_at < $1 ORDER BY created_at`,
      `UPDATE messages m SET content = NULL FROM doomed WHERE m.id = doomed.id`,
      [storedBefore, limit],
    );
  }

  /** Payloads of events processed before the cutoff: nothing reads them again. */
  clearProcessedPayloads(processedBefore: Date, limit: number): Promise<number> {
    return this.batch(
      `SELECT id FROM inbound_events
        WHERE payload IS NOT NULL AND status = 'processed' AND processed_at < $1 ORDER BY processed_at`,
      `UPDATE inbound_events e SET payload = NULL FROM doomed WHERE e.id = doomed.id`,
      [processedBefore, limit],
    );
  }

  /** Payloads of dead-lettered events past the dead-letter period, unless a dead letter still waits to be replayed. */
  clearFailedPayloads(failedBefore: Date, limit: number): Promise<number> {
    return this.batch(
      `SELECT id FROM inbound_events e
        WHERE payload IS NOT NULL AND status = 'failed' AND processed_at < $1
          AND NOT EXISTS (SELECT 1 FROM dead_letters d WHERE d.event_id = e.id AND d.status = 'pending')
        ORDER BY processed_at`,
      `UPDATE inbound_events e SET payload = NULL FROM doomed WHERE e.id = doomed.id`,
      [failedBefore, limit],
    );
  }

  deleteDeadLetters(createdBefore: Date, limit: number): Promise<number> {
    return this.batch(
      `SELECT id FROM dead_letters WHERE created_at < $1 ORDER BY created_at`,
      `DELETE FROM dead_letters d USING doomed WHERE d.id = doomed.id`,
      [createdBefore, limit],
    );
  }

  /** audit_log is append-only; its trigger lets a transaction delete only after it declares itself as retention. */
  deleteAuditEntries(occurredBefore: Date, limit: number): Promise<number> {
    return this.db.transaction(async (client) => {
      await client.query(`SET LOCAL switchboard.audit_retention = 'on'`);
      return this.batch(
        `SELECT id FROM audit_log WHERE occurred_at < $1 ORDER BY occurred_at`,
        `DELETE FROM audit_log a USING doomed WHERE a.id = doomed.id`,
        [occurredBefore, limit],
        client,
      );
    });
  }

  /** Ids grow with time (identity), so the oldest rows are the first in primary-key order. */
  deleteOutboundAttempts(createdBefore: Date, limit: number): Promise<number> {
    return this.batch(
      `SELECT id FROM outbound_attempts WHERE created_at < $1 ORDER BY id`,
      `DELETE FROM outbound_attempts a USING doomed WHERE a.id = doomed.id`,
      [createdBefore, limit],
    );
  }

  /** Finished deliveries only: a pending one is still owed to its subscriber. */
  deleteOutboundDeliveries(createdBefore: Date, limit: number): Promise<number> {
    return this.batch(
      `SELECT id FROM outbound_deliveries WHERE created_at < $1 AND status <> 'pending' ORDER BY id`,
      `DELETE FROM outbound_deliveries d USING doomed WHERE d.id = doomed.id`,
      [createdBefore, limit],
    );
  }

  /** Events whose deliveries are all gone (uuid v7 ids are time-ordered too). */
  deleteOutboundEvents(createdBefore: Date, limit: number): Promise<number> {
    return this.batch(
      `SELECT id FROM outbound_events e
        WHERE created_at < $1 AND NOT EXISTS (SELECT 1 FROM outbound_deliveries d WHERE d.event_id = e.id)
        ORDER BY id`,
      `DELETE FROM outbound_events e USING doomed WHERE e.id = doomed.id`,
      [createdBefore, limit],
    );
  }

  /**
   * The one statement every step is: `pick` selects the oldest rows ($1 is the cutoff), at most $2 of them,
   * skipping rows another transaction holds; `change` updates or deletes them, joined as `doomed`.
   */
  private async batch(pick: string, change: string, values: [Date, number], client?: PoolClient): Promise<number> {
    const text = `WITH doomed AS (${pick} LIMIT $2 FOR UPDATE SKIP LOCKED),
                       changed AS (${change} RETURNING 1)
                  SELECT count(*)::int AS n FROM changed`;
    const rows = client
      ? (await client.query<{ n: number }>(text, values)).rows
      : await this.db.query<{ n: number }>(text, values);
    return rows[0]?.n ?? 0;
  }
}
