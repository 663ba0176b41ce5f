import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The conversation policy: when the patient last wrote (Meta's messaging window is counted from it), when a
 * person last answered outside Switchboard (the staff handoff), and which reply took the cooldown window.
 */
export class ConversationPolicy1763800006000 implements MigrationInterface {
  name = 'ConversationPolicy1763800006000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      ALTER TABLE conversations
        ADD COLUMN last_patient_message_at timestamptz,
        ADD COLUMN handoff_at timestamptz,
        ADD COLUMN last_auto_reply_id uuid`);
    // Until now only the last message of either side was kept: the closest there is to the patient's.
    await db.query(`
      UPDATE conversations c
         SET last_patient_message_at = coalesce(
               (SELECT max(e.received_at) FROM messages m JOIN inbound_events e ON e.id = m.event_id
                 WHERE m.conversation_id = c.id AND m.direction = 'inbound'),
               c.last_message_at)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`
      ALTER TABLE conversations
        DROP COLUMN last_patient_message_at, DROP COLUMN handoff_at, DROP COLUMN last_auto_reply_id`);
  }
}
