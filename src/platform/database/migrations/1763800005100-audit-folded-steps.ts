import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The routine trail of a message (received → replied → processed) was three audit rows. "Processed" is now
 * folded into the entry written in the same statement (metadata key `_processed`: the event's kind), and
 * `audit_entries` shows it again as an entry of its own, with id + 1. Ids step by 2 from here on, so id + 1
 * is never another row's; existing rows keep their ids. Readers read `audit_entries`, never `audit_log`.
 */
export class AuditFoldedSteps1763800005100 implements MigrationInterface {
  name = 'AuditFoldedSteps1763800005100';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE audit_log ALTER COLUMN id SET INCREMENT BY 2`);
    await db.query(`
      CREATE VIEW audit_entries AS
        SELECT id, occurred_at, action, outcome, provider, event_id, correlation_id, actor, metadata - '_processed' AS metadata
          FROM audit_log
        UNION ALL
        SELECT id + 1, occurred_at, 'event.processed', 'success', provider, event_id, correlation_id, actor,
               jsonb_build_object('kind', metadata -> '_processed')
          FROM audit_log WHERE metadata ? '_processed'`);
    // Newest first over the folded steps too (the audit log's keyset order), without a sort.
    await db.query(`CREATE INDEX audit_log_folded ON audit_log ((id + 1)) WHERE metadata ? '_processed'`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP INDEX audit_log_folded`);
    await db.query(`DROP VIEW audit_entries`);
    await db.query(`ALTER TABLE audit_log ALTER COLUMN id SET INCREMENT BY 1`);
  }
}
