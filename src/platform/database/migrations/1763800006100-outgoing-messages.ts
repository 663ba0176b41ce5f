import { MigrationInterface, QueryRunner } from 'typeorm';

/** Messages the clinic's own systems send through POST /messages (text sealed), and their dead letters. */
export class OutgoingMessages1763800006100 implements MigrationInterface {
  name = 'OutgoingMessages1763800006100';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE outgoing_messages (
        id                  uuid PRIMARY KEY,
        provider            text NOT NULL,
        account_id          text NOT NULL,
        recipient_id        text NOT NULL,
        conversation_id     uuid NOT NULL REFERENCES conversations (id),
        tag                 text CHECK (tag IN ('HUMAN_AGENT')),
        -- the sealed text; never returned by any route
        content             bytea NOT NULL,
        status              text NOT NULL DEFAULT 'queued'
                            CHECK (status IN ('queued', 'sending', 'retrying', 'sent', 'failed', 'unknown', 'skipped')),
        attempts            integer NOT NULL DEFAULT 0,
        failure_category    text,
        last_http_status    integer,
        provider_message_id text,
        idempotency_key     text,
        actor               text NOT NULL,
        correlation_id      text,
        -- set once its job is in Redis; the relay queues the others
        queued_at           timestamptz,
        created_at          timestamptz NOT NULL DEFAULT now(),
        updated_at          timestamptz NOT NULL DEFAULT now(),
        sent_at             timestamptz
      )`);
    await db.query(
      `CREATE UNIQUE INDEX outgoing_messages_idempotency ON outgoing_messages (actor, idempotency_key) WHERE idempotency_key IS NOT NULL`,
    );
    await db.query(
      `CREATE INDEX outgoing_messages_provider_message ON outgoing_messages (provider, provider_message_id) WHERE provider_message_id IS NOT NULL`,
    );
    await db.query(`CREATE INDEX outgoing_messages_unqueued ON outgoing_messages (created_at) WHERE queued_at IS NULL`);
    await db.query(`ALTER TABLE dead_letters ADD COLUMN message_id uuid`);
    await db.query(
      `CREATE UNIQUE INDEX dead_letters_open_message ON dead_letters (message_id) WHERE status = 'pending' AND message_id IS NOT NULL`,
    );
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP INDEX dead_letters_open_message`);
    await db.query(`ALTER TABLE dead_letters DROP COLUMN message_id`);
    await db.query(`DROP TABLE outgoing_messages`);
  }
}
