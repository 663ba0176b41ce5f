import { MigrationInterface, QueryRunner } from 'typeorm';

export class ApiKeys1763800000100 implements MigrationInterface {
  name = 'ApiKeys1763800000100';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE api_keys (
        id            uuid PRIMARY KEY,
        name          text NOT NULL,
        role          text NOT NULL CHECK (role IN ('staff', 'ops', 'publisher')),
        -- sha256 of the key: keys are 32 random bytes, so a fast hash is enough and lookups stay indexed
        key_hash      bytea NOT NULL,
        key_prefix    text NOT NULL,
        created_at    timestamptz NOT NULL DEFAULT now(),
        expires_at    timestamptz,
        revoked_at    timestamptz,
        last_used_at  timestamptz,
        CONSTRAINT api_keys_hash UNIQUE (key_hash)
      )`);
    await db.query(`CREATE INDEX api_keys_name ON api_keys (name)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE api_keys`);
  }
}
