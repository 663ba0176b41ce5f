import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * With tracing on, an outbound event keeps the W3C traceparent of what published it (ids only), so each
 * of its deliveries, retries hours later included, joins that trace. Null when tracing is off.
 */
export class OutboundEventTrace1763800003100 implements MigrationInterface {
  name = 'OutboundEventTrace1763800003100';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE outbound_events ADD COLUMN trace_parent text`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE outbound_events DROP COLUMN trace_parent`);
  }
}
