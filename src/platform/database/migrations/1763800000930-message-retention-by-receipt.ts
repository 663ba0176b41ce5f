import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Message text is retained by the time Switchboard stored it (`created_at`), no longer by Meta's
 * `sent_at`: a sender's clock must not erase a message at once (dated 2001) or keep it forever (dated
 * 33658). The partial index moves with it. CONCURRENTLY: it lands on a hot table.
 */
export class MessageRetentionByReceipt1763800000930 implements MigrationInterface {
  name = 'MessageRetentionByReceipt1763800000930';
  transaction = false;

  async up(db: QueryRunner): Promise<void> {
    await db.query(
      `CREATE INDEX CONCURRENTLY IF NOT EXISTS messages_content_retained_by_receipt ON messages (created_at)
         WHERE content IS NOT NULL`,
    );
    await db.query(`DROP INDEX CONCURRENTLY IF EXISTS messages_content_retained`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(
      `CREATE INDEX CONCURRENTLY IF NOT EXISTS messages_content_retained ON messages (sent_at) WHERE content IS NOT NULL`,
    );
    await db.query(`DROP INDEX CONCURRENTLY IF EXISTS messages_content_retained_by_receipt`);
  }
}
