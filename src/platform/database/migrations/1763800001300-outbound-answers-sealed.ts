import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A subscriber's answer is kept as bytes, sealed, and only for a failed attempt (a text column could not
 * hold a NUL, and held an echoing subscriber's copy of the event in the clear). Answers stored as text
 * before are dropped, not sealed: a migration has no key to seal them with. The column's old values stay
 * on disk until the rows are rewritten or deleted by retention (`VACUUM FULL outbound_attempts` reclaims
 * them at once).
 */
export class OutboundAnswersSealed1763800001300 implements MigrationInterface {
  name = 'OutboundAnswersSealed1763800001300';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      ALTER TABLE outbound_attempts
        ADD COLUMN response_bytes integer,
        ADD COLUMN response_sealed bytea,
        DROP COLUMN response_body`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`
      ALTER TABLE outbound_attempts
        ADD COLUMN response_body text,
        DROP COLUMN response_sealed,
        DROP COLUMN response_bytes`);
  }
}
