import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Every rotated-out endpoint secret still inside its grace period keeps signing, not only the last one:
 * parallel arrays (each secret sealed on its own, so a rotation can push the current one in SQL, in one
 * statement). An endpoint's previous secret, if it still signs, is carried over.
 */
export class EndpointPreviousSecrets1763800001400 implements MigrationInterface {
  name = 'EndpointPreviousSecrets1763800001400';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      ALTER TABLE outbound_endpoints
        ADD COLUMN previous_secrets_sealed bytea[] NOT NULL DEFAULT '{}',
        ADD COLUMN previous_secrets_until timestamptz[] NOT NULL DEFAULT '{}'`);
    await db.query(`
      UPDATE outbound_endpoints
         SET previous_secrets_sealed = ARRAY[previous_secret_sealed],
             previous_secrets_until = ARRAY[previous_secret_until]
       WHERE previous_secret_sealed IS NOT NULL AND previous_secret_until > now()`);
    await db.query(
      `ALTER TABLE outbound_endpoints DROP COLUMN previous_secret_sealed, DROP COLUMN previous_secret_until`,
    );
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`
      ALTER TABLE outbound_endpoints ADD COLUMN previous_secret_sealed bytea, ADD COLUMN previous_secret_until timestamptz`);
    await db.query(`
      UPDATE outbound_endpoints
         SET previous_secret_sealed = previous_secrets_sealed[1], previous_secret_until = previous_secrets_until[1]
       WHERE cardinality(previous_secrets_sealed) > 0`);
    await db.query(
      `ALTER TABLE outbound_endpoints DROP COLUMN previous_secrets_sealed, DROP COLUMN previous_secrets_until`,
    );
  }
}
