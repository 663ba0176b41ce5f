import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * "Stored but not yet on the queue" moves from `inbound_events.queued_at` to a narrow outbox table: the
 * webhook path inserts a row with the event and deletes it after `addBulk`, instead of an UPDATE of the
 * wide event row that rewrote every one of its indexes.
 */
export class EnqueueOutbox1763800000700 implements MigrationInterface {
  name = 'EnqueueOutbox1763800000700';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE inbound_enqueue_outbox (
        event_id     uuid PRIMARY KEY,
        received_at  timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`CREATE INDEX inbound_enqueue_outbox_received_at ON inbound_enqueue_outbox (received_at)`);
    await db.query(`
      INSERT INTO inbound_enqueue_outbox (event_id, received_at)
      SELECT id, received_at FROM inbound_events WHERE queued_at IS NULL AND status IN ('received', 'processing')`);
    await db.query(`DROP INDEX inbound_events_unqueued`);
    await db.query(`ALTER TABLE inbound_events DROP COLUMN queued_at`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE inbound_events ADD COLUMN queued_at timestamptz`);
    await db.query(`
      UPDATE inbound_events e SET queued_at = e.received_at
       WHERE NOT EXISTS (SELECT 1 FROM inbound_enqueue_outbox o WHERE o.event_id = e.id)`);
    await db.query(
      `CREATE INDEX inbound_events_unqueued ON inbound_events (received_at) WHERE queued_at IS NULL AND status IN ('received', 'processing')`,
    );
    await db.query(`DROP TABLE inbound_enqueue_outbox`);
  }
}
