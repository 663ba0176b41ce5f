import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A clinic's channel accounts (Instagram accounts, Pages, WhatsApp numbers), each with its own sealed token,
 * and replies held while an account is paused or needs a token. An install with no rows works as before:
 * every account uses its provider's environment token.
 */
export class Accounts1763800002000 implements MigrationInterface {
  name = 'Accounts1763800002000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE accounts (
        provider            text NOT NULL,
        account_id          text NOT NULL,
        display_name        text,
        -- sealed access token; NULL: the provider's environment token (a row written when that token failed)
        token_sealed        bytea,
        -- bumped with every new token: what a worker's cached token is compared with
        token_version       integer NOT NULL DEFAULT 0,
        token_expires_at    timestamptz,
        token_refreshed_at  timestamptz,
        paused_at           timestamptz,
        paused_by           text,
        needs_token_since   timestamptz,
        status              text GENERATED ALWAYS AS (
                              CASE WHEN needs_token_since IS NOT NULL THEN 'needs_token'
                                   WHEN paused_at IS NOT NULL THEN 'paused'
                                   ELSE 'active' END) STORED,
        timezone            text,
        business_hours      jsonb,
        auto_reply          jsonb,
        created_at          timestamptz NOT NULL DEFAULT now(),
        updated_at          timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (provider, account_id)
      )`);

    // A held reply waits for its account (paused, or needing a token) without using an attempt.
    await db.query(`ALTER TABLE replies DROP CONSTRAINT IF EXISTS replies_status_check`);
    await db.query(
      `ALTER TABLE replies ADD CONSTRAINT replies_status_check
         CHECK (status IN ('sending', 'retrying', 'sent', 'failed', 'unknown', 'skipped', 'held'))`,
    );
    await db.query(`
      ALTER TABLE replies
        ADD COLUMN hold_reason text,
        ADD COLUMN released_at timestamptz,
        ADD COLUMN releases integer NOT NULL DEFAULT 0`);
    await db.query(`CREATE INDEX replies_held ON replies (conversation_id) WHERE status = 'held'`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`UPDATE replies SET status = 'retrying' WHERE status = 'held'`);
    await db.query(`DROP INDEX replies_held`);
    await db.query(`ALTER TABLE replies DROP COLUMN hold_reason, DROP COLUMN released_at, DROP COLUMN releases`);
    await db.query(`ALTER TABLE replies DROP CONSTRAINT replies_status_check`);
    await db.query(
      `ALTER TABLE replies ADD CONSTRAINT replies_status_check
         CHECK (status IN ('sending', 'retrying', 'sent', 'failed', 'unknown', 'skipped'))`,
    );
    await db.query(`DROP TABLE accounts`);
  }
}
