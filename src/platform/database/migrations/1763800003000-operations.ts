import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Durable operations (bulk replays, bulk retries, re-encryption): one row each, read by every instance and
 * resumed from `cursor` after a restart. `filter` holds ids, categories and dates only, never content.
 */
export class Operations1763800003000 implements MigrationInterface {
  name = 'Operations1763800003000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE operations (
        id                   uuid PRIMARY KEY,
        kind                 text NOT NULL,
        filter               jsonb NOT NULL DEFAULT '{}',
        status               text NOT NULL DEFAULT 'running'
                               CHECK (status IN ('running', 'completed', 'cancelled', 'failed')),
        total                integer NOT NULL DEFAULT 0,
        done                 integer NOT NULL DEFAULT 0,
        failed               integer NOT NULL DEFAULT 0,
        cursor               text,
        actor                text NOT NULL,
        error                text,
        cancel_requested_at  timestamptz,
        created_at           timestamptz NOT NULL DEFAULT now(),
        updated_at           timestamptz NOT NULL DEFAULT now(),
        finished_at          timestamptz
      )`);
    await db.query(`CREATE INDEX operations_created ON operations (created_at DESC, id DESC)`);
    await db.query(`CREATE INDEX operations_running ON operations (created_at) WHERE status = 'running'`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE operations`);
  }
}
