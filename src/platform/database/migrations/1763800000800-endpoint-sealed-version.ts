import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A counter bumped whenever an endpoint's sealed fields (secrets, custom headers) may have changed, so a
 * delivery's target row carries a number to compare with what the worker has decrypted already, instead
 * of the sealed bytes themselves on every row.
 */
export class EndpointSealedVersion1763800000800 implements MigrationInterface {
  name = 'EndpointSealedVersion1763800000800';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE outbound_endpoints ADD COLUMN sealed_version integer NOT NULL DEFAULT 0`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE outbound_endpoints DROP COLUMN sealed_version`);
  }
}
