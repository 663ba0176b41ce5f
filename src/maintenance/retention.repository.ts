import { Injectable } from '@nestjs/common';
import { Sql } from '../database/sql';

/**
 * One batch of each retention step. Every method is one short transaction over at most `limit` rows,
 * picked oldest first with SKIP LOCKED so it never waits on (or blocks for long) the ingest and
 * processing paths. Each returns how many rows it changed; the caller loops until a batch comes back short.
 */
@Injectable()
export class RetentionRepository {
  constructor(private readonly db: Sql) {}

  async clearReceiptBodies(receivedBefore: Date, limit: number): Promise<number> {
    return this.count(
      `WITH doomed AS (
         SELECT id FROM webhook_receipts WHERE body IS NOT NULL AND received_at < $1
          ORDER BY received_at LIMIT $2 FOR UPDATE SKIP LOCKED
       ), changed AS (
         UPDATE webhook_receipts r SET body = NULL FROM doomed WHERE r.id = doomed.id RETURNING 1
       )
       SELECT count(*)::int AS n FROM changed`,
      [receivedBefore, limit],
    );
  }

  async clearMessageContent(sentBefore: Date, limit: number): Promise<number> {
    return this.count(
      `WITH doomed AS (
         SELECT id FROM messages WHERE content IS NOT NULL AND sent_at < $1
          ORDER BY sent_at LIMIT $2 FOR UPDATE SKIP LOCKED
       ), changed AS (
         UPDATE messages m SET content = NULL FROM doomed WHERE m.id = doomed.id RETURNING 1
       )
       SELECT count(*)::int AS n FROM changed`,
      [sentBefore, limit],
    );
  }

  /** Payloads of events processed before the cutoff: nothing reads them again. */
  async clearProcessedPayloads(processedBefore: Date, limit: number): Promise<number> {
    return this.count(
      `WITH doomed AS (
         SELECT id FROM inbound_events
          WHERE payload IS NOT NULL AND status = 'processed' AND processed_at < $1
          ORDER BY processed_at LIMIT $2 FOR UPDATE SKIP LOCKED
       ), changed AS (
         UPDATE inbound_events e SET payload = NULL FROM doomed WHERE e.id = doomed.id RETURNING 1
       )
       SELECT count(*)::int AS n FROM changed`,
      [processedBefore, limit],
    );
  }

  /** Payloads of dead-lettered events past the dead-letter period, unless a dead letter still waits to be replayed. */
  async clearFailedPayloads(failedBefore: Date, limit: number): Promise<number> {
    return this.count(
      `WITH doomed AS (
         SELECT id FROM inbound_events e
          WHERE payload IS NOT NULL AND status = 'failed' AND processed_at < $1
            AND NOT EXISTS (SELECT 1 FROM dead_letters d WHERE d.event_id = e.id AND d.status = 'pending')
          ORDER BY processed_at LIMIT $2 FOR UPDATE SKIP LOCKED
       ), changed AS (
         UPDATE inbound_events e SET payload = NULL FROM doomed WHERE e.id = doomed.id RETURNING 1
       )
       SELECT count(*)::int AS n FROM changed`,
      [failedBefore, limit],
    );
  }

  async deleteDeadLetters(createdBefore: Date, limit: number): Promise<number> {
    return this.count(
      `WITH doomed AS (
         SELECT id FROM dead_letters WHERE created_at < $1
          ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED
       ), gone AS (
         DELETE FROM dead_letters d USING doomed WHERE d.id = doomed.id RETURNING 1
       )
       SELECT count(*)::int AS n FROM gone`,
      [createdBefore, limit],
    );
  }

  /** audit_log is append-only; its trigger lets a transaction delete only after it declares itself as retention. */
  async deleteAuditEntries(occurredBefore: Date, limit: number): Promise<number> {
    return this.db.transaction(async (client) => {
      await client.query(`SET LOCAL switchboard.audit_retention = 'on'`);
      const result = await client.query<{ n: number }>(
        `WITH doomed AS (
           SELECT id FROM audit_log WHERE occurred_at < $1
            ORDER BY occurred_at LIMIT $2 FOR UPDATE SKIP LOCKED
         ), gone AS (
           DELETE FROM audit_log a USING doomed WHERE a.id = doomed.id RETURNING 1
         )
         SELECT count(*)::int AS n FROM gone`,
        [occurredBefore, limit],
      );
      return result.rows[0]?.n ?? 0;
    });
  }

  /** Ids grow with time (identity), so the oldest rows are the first in primary-key order. */
  async deleteOutboundAttempts(createdBefore: Date, limit: number): Promise<number> {
    return this.count(
      `WITH doomed AS (
         SELECT id FROM outbound_attempts WHERE created_at < $1 ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED
       ), gone AS (
         DELETE FROM outbound_attempts a USING doomed WHERE a.id = doomed.id RETURNING 1
       )
       SELECT count(*)::int AS n FROM gone`,
      [createdBefore, limit],
    );
  }

  /** Finished deliveries only: a pending one is still owed to its subscriber. */
  async deleteOutboundDeliveries(createdBefore: Date, limit: number): Promise<number> {
    return this.count(
      `WITH doomed AS (
         SELECT id FROM outbound_deliveries
          WHERE created_at < $1 AND status <> 'pending' ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED
       ), gone AS (
         DELETE FROM outbound_deliveries d USING doomed WHERE d.id = doomed.id RETURNING 1
       )
       SELECT count(*)::int AS n FROM gone`,
      [createdBefore, limit],
    );
  }

  /** Events whose deliveries are all gone (uuid v7 ids are time-ordered too). */
  async deleteOutboundEvents(createdBefore: Date, limit: number): Promise<number> {
    return this.count(
      `WITH doomed AS (
         SELECT id FROM outbound_events e
          WHERE created_at < $1 AND NOT EXISTS (SELECT 1 FROM outbound_deliveries d WHERE d.event_id = e.id)
          ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED
       ), gone AS (
         DELETE FROM outbound_events e USING doomed WHERE e.id = doomed.id RETURNING 1
       )
       SELECT count(*)::int AS n FROM gone`,
      [createdBefore, limit],
    );
  }

  private async count(text: string, values: unknown[]): Promise<number> {
    return (await this.db.one<{ n: number }>(text, values))?.n ?? 0;
  }
}
