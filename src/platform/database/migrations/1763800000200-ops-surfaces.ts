import { MigrationInterface, QueryRunner } from 'typeorm';

export class OpsSurfaces1763800000200 implements MigrationInterface {
  name = 'OpsSurfaces1763800000200';

  async up(db: QueryRunner): Promise<void> {
    // When the last attempt started: processing time is processed_at - started_at (queue wait excluded).
    await db.query(`ALTER TABLE inbound_events ADD COLUMN started_at timestamptz`);
    // GET /admin/queues reads the most recently processed events for timings and throughput.
    await db.query(
      `CREATE INDEX inbound_events_processed_at ON inbound_events (processed_at) WHERE processed_at IS NOT NULL`,
    );
    // Keyset pagination of the dead-letter list across every status, and the purge by age.
    await db.query(`CREATE INDEX dead_letters_created_id ON dead_letters (created_at DESC, id DESC)`);
    await db.query(`
      CREATE TABLE vip_senders (
        provider    text NOT NULL,
        sender_id   text NOT NULL,
        note        text,
        created_at  timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (provider, sender_id)
      )`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE vip_senders`);
    await db.query(`DROP INDEX dead_letters_created_id`);
    await db.query(`DROP INDEX inbound_events_processed_at`);
    await db.query(`ALTER TABLE inbound_events DROP COLUMN started_at`);
  }
}
