import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Rejected webhooks are audited per provider, reason and minute: each API process adds its counts to the
 * minute's row here, and the first process to see the minute over moves the row into `audit_log` (which
 * is append-only, so a count cannot be added to an entry once it is written).
 */
export class WebhookRejectionTallies1763800001500 implements MigrationInterface {
  name = 'WebhookRejectionTallies1763800001500';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE webhook_rejection_tallies (
        provider  text NOT NULL,
        reason    text NOT NULL,
        minute    timestamptz NOT NULL,
        count     bigint NOT NULL,
        PRIMARY KEY (provider, reason, minute)
      )`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE webhook_rejection_tallies`);
  }
}
