import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Partial indexes for the retention job: each covers only rows that still hold data, so a run finds
 * its next batch without walking over everything it already cleared. Built CONCURRENTLY (no
 * transaction) because they land on the hot tables.
 */
export class RetentionIndexes1763800000400 implements MigrationInterface {
  name = 'RetentionIndexes1763800000400';
  transaction = false;

  async up(db: QueryRunner): Promise<void> {
    await db.query(
      `CREATE INDEX CONCURRENTLY IF NOT EXISTS webhook_receipts_body_retained ON webhook_receipts (received_at) WHERE body IS NOT NULL`,
    );
    await db.query(
      `CREATE INDEX CONCURRENTLY IF NOT EXISTS messages_content_retained ON messages (sent_at) WHERE content IS NOT NULL`,
    );
    await db.query(
      `CREATE INDEX CONCURRENTLY IF NOT EXISTS inbound_events_payload_retained ON inbound_events (processed_at)
         WHERE payload IS NOT NULL AND status IN ('processed', 'failed')`,
    );
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP INDEX IF EXISTS inbound_events_payload_retained`);
    await db.query(`DROP INDEX IF EXISTS messages_content_retained`);
    await db.query(`DROP INDEX IF EXISTS webhook_receipts_body_retained`);
  }
}
