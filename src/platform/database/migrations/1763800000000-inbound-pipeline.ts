import { MigrationInterface, QueryRunner } from 'typeorm';

export class InboundPipeline1763800000000 implements MigrationInterface {
  name = 'InboundPipeline1763800000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE webhook_receipts (
        id              uuid PRIMARY KEY,
        provider        text NOT NULL,
        received_at     timestamptz NOT NULL DEFAULT now(),
        correlation_id  text NOT NULL,
        body_bytes      integer NOT NULL,
        event_count     integer NOT NULL,
        -- AES-256-GCM sealed raw body; set to NULL by retention
        body            bytea,
        -- why the body could not be read as a Meta envelope (a category, never content)
        parse_error     text
      )`);
    await db.query(`CREATE INDEX webhook_receipts_received_at ON webhook_receipts (received_at)`);

    await db.query(`
      CREATE TABLE inbound_events (
        id               uuid PRIMARY KEY,
        receipt_id       uuid NOT NULL REFERENCES webhook_receipts (id),
        provider         text NOT NULL,
        kind             text NOT NULL,
        channel          text NOT NULL,
        idempotency_key  text NOT NULL,
        account_id       text,
        sender_id        text,
        recipient_id     text,
        meta_message_id  text,
        occurred_at      timestamptz,
        payload          bytea,
        correlation_id   text NOT NULL,
        priority         smallint NOT NULL DEFAULT 0,
        status           text NOT NULL DEFAULT 'received'
                         CHECK (status IN ('received', 'processing', 'processed', 'failed')),
        attempts         integer NOT NULL DEFAULT 0,
        received_at      timestamptz NOT NULL DEFAULT now(),
        queued_at        timestamptz,
        processed_at     timestamptz,
        last_error_category text,
        CONSTRAINT inbound_events_idempotency_key UNIQUE (idempotency_key)
      )`);
    // The relay's two scans: never enqueued, and (after Redis lost its data) everything unfinished.
    await db.query(
      `CREATE INDEX inbound_events_unqueued ON inbound_events (received_at) WHERE queued_at IS NULL AND status IN ('received', 'processing')`,
    );
    await db.query(
      `CREATE INDEX inbound_events_unfinished ON inbound_events (received_at) WHERE status IN ('received', 'processing')`,
    );
    await db.query(`CREATE INDEX inbound_events_receipt ON inbound_events (receipt_id)`);
    await db.query(`CREATE INDEX inbound_events_received_at ON inbound_events (received_at)`);

    await db.query(`
      CREATE TABLE conversations (
        id                  uuid PRIMARY KEY,
        provider            text NOT NULL,
        account_id          text NOT NULL,
        participant_id      text NOT NULL,
        first_message_at    timestamptz NOT NULL,
        last_message_at     timestamptz NOT NULL,
        last_read_at        timestamptz,
        last_auto_reply_at  timestamptz,
        created_at          timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT conversations_participant UNIQUE (provider, account_id, participant_id)
      )`);

    await db.query(`
      CREATE TABLE messages (
        id                uuid PRIMARY KEY,
        conversation_id   uuid NOT NULL REFERENCES conversations (id),
        event_id          uuid NOT NULL REFERENCES inbound_events (id),
        provider          text NOT NULL,
        meta_message_id   text NOT NULL,
        direction         text NOT NULL CHECK (direction IN ('inbound', 'outbound')),
        -- sealed JSON {text, attachments}; NULL once deleted, erased or past retention
        content           bytea,
        attachment_count  integer NOT NULL DEFAULT 0,
        sent_at           timestamptz NOT NULL,
        edit_count        integer NOT NULL DEFAULT 0,
        edited_at         timestamptz,
        deleted_at        timestamptz,
        created_at        timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT messages_event UNIQUE (event_id),
        CONSTRAINT messages_meta_id UNIQUE (provider, meta_message_id)
      )`);
    await db.query(`CREATE INDEX messages_conversation ON messages (conversation_id, sent_at)`);

    await db.query(`
      CREATE TABLE replies (
        id                  uuid PRIMARY KEY,
        event_id            uuid NOT NULL REFERENCES inbound_events (id),
        conversation_id     uuid NOT NULL REFERENCES conversations (id),
        provider            text NOT NULL,
        recipient_id        text NOT NULL,
        status              text NOT NULL
                            CHECK (status IN ('sending', 'retrying', 'sent', 'failed', 'unknown', 'skipped')),
        skip_reason         text,
        attempts            integer NOT NULL DEFAULT 0,
        provider_message_id text,
        last_error_category text,
        last_http_status    integer,
        created_at          timestamptz NOT NULL DEFAULT now(),
        updated_at          timestamptz NOT NULL DEFAULT now(),
        sent_at             timestamptz,
        reconciled_at       timestamptz,
        CONSTRAINT replies_event UNIQUE (event_id)
      )`);
    await db.query(
      `CREATE INDEX replies_provider_message ON replies (provider_message_id) WHERE provider_message_id IS NOT NULL`,
    );
    await db.query(`CREATE INDEX replies_unknown ON replies (conversation_id, created_at) WHERE status = 'unknown'`);

    await db.query(`
      CREATE TABLE dead_letters (
        id               uuid PRIMARY KEY,
        source           text NOT NULL DEFAULT 'inbound',
        event_id         uuid,
        receipt_id       uuid,
        provider         text,
        correlation_id   text,
        category         text NOT NULL,
        error            text NOT NULL,
        attempts         integer NOT NULL DEFAULT 0,
        job_id           text,
        status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'replayed', 'resolved')),
        first_failed_at  timestamptz NOT NULL DEFAULT now(),
        last_failed_at   timestamptz NOT NULL DEFAULT now(),
        replay_count     integer NOT NULL DEFAULT 0,
        replayed_at      timestamptz,
        created_at       timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(
      `CREATE UNIQUE INDEX dead_letters_open_event ON dead_letters (event_id) WHERE status = 'pending' AND event_id IS NOT NULL`,
    );
    await db.query(`CREATE INDEX dead_letters_listing ON dead_letters (status, created_at DESC, id DESC)`);
    await db.query(`CREATE INDEX dead_letters_created_at ON dead_letters (created_at)`);

    await db.query(`
      CREATE TABLE audit_log (
        id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        occurred_at     timestamptz NOT NULL DEFAULT now(),
        action          text NOT NULL,
        outcome         text NOT NULL,
        provider        text,
        event_id        uuid,
        correlation_id  text,
        actor           text NOT NULL DEFAULT 'system',
        metadata        jsonb NOT NULL DEFAULT '{}'::jsonb
      )`);
    await db.query(`CREATE INDEX audit_log_occurred_at ON audit_log (occurred_at)`);
    await db.query(`CREATE INDEX audit_log_event ON audit_log (event_id) WHERE event_id IS NOT NULL`);
    await db.query(`CREATE INDEX audit_log_correlation ON audit_log (correlation_id) WHERE correlation_id IS NOT NULL`);
    await db.query(`CREATE INDEX audit_log_action ON audit_log (action, id)`);
    // Append-only: only a maintenance transaction that declares itself (retention) may delete.
    await db.query(`
      CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' AND current_setting('switchboard.audit_retention', true) = 'on' THEN
          RETURN OLD;
        END IF;
        RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
      END $$`);
    await db.query(
      `CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()`,
    );
    await db.query(
      `CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()`,
    );
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE audit_log`);
    await db.query(`DROP FUNCTION audit_log_append_only`);
    await db.query(`DROP TABLE dead_letters`);
    await db.query(`DROP TABLE replies`);
    await db.query(`DROP TABLE messages`);
    await db.query(`DROP TABLE conversations`);
    await db.query(`DROP TABLE inbound_events`);
    await db.query(`DROP TABLE webhook_receipts`);
  }
}
