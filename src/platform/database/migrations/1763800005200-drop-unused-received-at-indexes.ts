import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Two indexes no statement uses, each an entry per webhook (and, for the event, one more per non-HOT update):
 * receipts are found by `webhook_receipts_body_retained` (retention) and by id; events by id, key, receipt
 * and the partial indexes of unfinished and processed events, never by received_at alone. CONCURRENTLY: hot tables.
 */
export class DropUnusedReceivedAtIndexes1763800005200 implements MigrationInterface {
  name = 'DropUnusedReceivedAtIndexes1763800005200';
  transaction = false;

  async up(db: QueryRunner): Promise<void> {
    await db.query(`DROP INDEX CONCURRENTLY IF EXISTS webhook_receipts_received_at`);
    await db.query(`DROP INDEX CONCURRENTLY IF EXISTS inbound_events_received_at`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(
      `CREATE INDEX CONCURRENTLY IF NOT EXISTS inbound_events_received_at ON inbound_events (received_at)`,
    );
    await db.query(
      `CREATE INDEX CONCURRENTLY IF NOT EXISTS webhook_receipts_received_at ON webhook_receipts (received_at)`,
    );
  }
}
