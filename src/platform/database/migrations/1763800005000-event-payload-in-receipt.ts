import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A receipt that carried one event holds that event's payload already (its sealed raw body): the event row
 * no longer seals a second copy, and says so. Existing rows keep their own payload (false).
 */
export class EventPayloadInReceipt1763800005000 implements MigrationInterface {
  name = 'EventPayloadInReceipt1763800005000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE inbound_events ADD COLUMN payload_in_receipt boolean NOT NULL DEFAULT false`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE inbound_events DROP COLUMN payload_in_receipt`);
  }
}
