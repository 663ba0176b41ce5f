import { MigrationInterface, QueryRunner } from 'typeorm';

export class OutboundWebhooks1763800000300 implements MigrationInterface {
  name = 'OutboundWebhooks1763800000300';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE outbound_endpoints (
        id                      uuid PRIMARY KEY,
        url                     text NOT NULL,
        description             text,
        -- exact types, "*" (everything) or "prefix.*"; matched with && so the GIN index serves the fan-out
        event_types             text[] NOT NULL,
        tenant_id               text,
        status                  text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
        disabled_reason         text,
        disabled_at             timestamptz,
        secret_sealed           bytea NOT NULL,
        previous_secret_sealed  bytea,
        previous_secret_until   timestamptz,
        -- custom headers may carry credentials: sealed like the secret
        headers_sealed          bytea,
        rate_limit_per_second   integer CHECK (rate_limit_per_second > 0),
        max_concurrency         integer CHECK (max_concurrency > 0),
        timeout_ms              integer CHECK (timeout_ms > 0),
        deliveries_total        bigint NOT NULL DEFAULT 0,
        failures_total          bigint NOT NULL DEFAULT 0,
        consecutive_failures    integer NOT NULL DEFAULT 0,
        last_success_at         timestamptz,
        last_failure_at         timestamptz,
        created_at              timestamptz NOT NULL DEFAULT now(),
        updated_at              timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`CREATE INDEX outbound_endpoints_event_types ON outbound_endpoints USING gin (event_types)`);

    await db.query(`
      CREATE TABLE outbound_events (
        id               uuid PRIMARY KEY,
        event_type       text NOT NULL,
        tenant_id        text,
        priority         integer NOT NULL,
        deliver_at       timestamptz,
        data_sealed      bytea NOT NULL,
        publisher        text NOT NULL,
        idempotency_key  text,
        correlation_id   text,
        endpoint_count   integer NOT NULL DEFAULT 0,
        -- the dispatcher's progress: last delivery id handed to the queue, and when it finished
        dispatch_cursor  bigint NOT NULL DEFAULT 0,
        dispatched_at    timestamptz,
        created_at       timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(
      `CREATE UNIQUE INDEX outbound_events_idempotency ON outbound_events (publisher, idempotency_key) WHERE idempotency_key IS NOT NULL`,
    );
    await db.query(
      `CREATE INDEX outbound_events_undispatched ON outbound_events (created_at) WHERE dispatched_at IS NULL`,
    );

    // Lean on purpose (no foreign keys: a per-row RI check would dominate a 100,000-row fan-out INSERT … SELECT).
    await db.query(`
      CREATE TABLE outbound_deliveries (
        id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        event_id         uuid NOT NULL,
        endpoint_id      uuid NOT NULL,
        status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
        attempts         integer NOT NULL DEFAULT 0,
        requeues         integer NOT NULL DEFAULT 0,
        last_category    text,
        last_status_code integer,
        last_attempt_at  timestamptz,
        completed_at     timestamptz,
        created_at       timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`CREATE INDEX outbound_deliveries_event ON outbound_deliveries (event_id, id)`);
    await db.query(
      `CREATE INDEX outbound_deliveries_failed ON outbound_deliveries (endpoint_id, id) WHERE status = 'failed'`,
    );

    await db.query(`
      CREATE TABLE outbound_attempts (
        id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        delivery_id    bigint NOT NULL,
        endpoint_id    uuid NOT NULL,
        event_id       uuid NOT NULL,
        attempt        integer NOT NULL,
        status         text NOT NULL CHECK (status IN ('success', 'failure')),
        category       text,
        response_code  integer,
        duration_ms    integer NOT NULL,
        -- the subscriber's answer, first 2 KB: never our payload
        response_body  text,
        created_at     timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`CREATE INDEX outbound_attempts_endpoint ON outbound_attempts (endpoint_id, id DESC)`);
    await db.query(`CREATE INDEX outbound_attempts_delivery ON outbound_attempts (delivery_id)`);

    // Outbound dead letters: one per delivery (an event fans out, so event_id cannot identify them).
    await db.query(
      `ALTER TABLE dead_letters ADD COLUMN delivery_id bigint, ADD COLUMN endpoint_id uuid, ADD COLUMN outbound_event_id uuid`,
    );
    await db.query(
      `CREATE UNIQUE INDEX dead_letters_open_delivery ON dead_letters (delivery_id) WHERE status = 'pending' AND delivery_id IS NOT NULL`,
    );
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP INDEX dead_letters_open_delivery`);
    await db.query(
      `ALTER TABLE dead_letters DROP COLUMN delivery_id, DROP COLUMN endpoint_id, DROP COLUMN outbound_event_id`,
    );
    await db.query(`DROP TABLE outbound_attempts`);
    await db.query(`DROP TABLE outbound_deliveries`);
    await db.query(`DROP TABLE outbound_events`);
    await db.query(`DROP TABLE outbound_endpoints`);
  }
}
