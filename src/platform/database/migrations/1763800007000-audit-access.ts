import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The audit log's one way out: retention calls audit_log_expire (SECURITY DEFINER, owned by the schema
 * owner), which may delete only entries older than a day, a bounded batch at a time. The trigger no
 * longer honours a flag any session could set; an application role without DELETE on audit_log and
 * without ownership (docs/keys.md) can neither delete nor disable the trigger. And the access report's
 * lookup: entries naming a patient's fingerprint.
 */
export class AuditAccess1763800007000 implements MigrationInterface {
  name = 'AuditAccess1763800007000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' AND current_setting('switchboard.audit_expiring', true) = 'on' THEN
          RETURN OLD;
        END IF;
        RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
      END $$`);
    await db.query(`
      CREATE FUNCTION audit_log_expire(cutoff timestamptz, max_rows integer) RETURNS integer
      LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
      DECLARE
        deleted integer;
      BEGIN
        IF cutoff > now() - interval '1 day' THEN
          RAISE EXCEPTION 'audit entries are kept at least a day' USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF max_rows < 1 OR max_rows > 10000 THEN
          RAISE EXCEPTION 'max_rows must be 1 to 10000' USING ERRCODE = 'invalid_parameter_value';
        END IF;
        PERFORM set_config('switchboard.audit_expiring', 'on', true);
        DELETE FROM audit_log a USING (
          SELECT id FROM audit_log WHERE occurred_at < cutoff ORDER BY occurred_at LIMIT max_rows FOR UPDATE SKIP LOCKED
        ) doomed WHERE a.id = doomed.id;
        GET DIAGNOSTICS deleted = ROW_COUNT;
        PERFORM set_config('switchboard.audit_expiring', 'off', true);
        RETURN deleted;
      END $$`);
    await db.query(`REVOKE ALL ON FUNCTION audit_log_expire(timestamptz, integer) FROM PUBLIC`);
    await db.query(
      `CREATE INDEX audit_log_participant ON audit_log ((metadata->>'participant'), occurred_at DESC)
        WHERE metadata ? 'participant'`,
    );
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP INDEX audit_log_participant`);
    await db.query(`DROP FUNCTION audit_log_expire(timestamptz, integer)`);
    await db.query(`
      CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' AND current_setting('switchboard.audit_retention', true) = 'on' THEN
          RETURN OLD;
        END IF;
        RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
      END $$`);
  }
}
