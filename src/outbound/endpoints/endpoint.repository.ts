import { Injectable } from '@nestjs/common';
import { AuditEntry } from '../../audit/audit-actions';
import { auditInsert, auditParams } from '../../audit/audit-sql';
import { Sql } from '../../platform/database/sql';

export interface EndpointRow {
  id: string;
  url: string;
  description: string | null;
  eventTypes: string[];
  tenantId: string | null;
  status: 'active' | 'disabled';
  disabledReason: string | null;
  disabledAt: Date | null;
  secretSealed: Buffer;
  /** Rotated-out secrets, newest first, each with the end of its grace period (expired ones may linger). */
  previousSecretsSealed: Buffer[];
  previousSecretsUntil: Date[];
  headersSealed: Buffer | null;
  rateLimitPerSecond: number | null;
  maxConcurrency: number | null;
  timeoutMs: number | null;
  deliveriesTotal: string;
  failuresTotal: string;
  consecutiveFailures: number;
  lastSuccessAt: Date | null;
  lastFailureAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** Every column of an endpoint, camelCase (EndpointRow). */
const COLUMNS = `id, url, description, event_types AS "eventTypes", tenant_id AS "tenantId", status,
  disabled_reason AS "disabledReason", disabled_at AS "disabledAt", secret_sealed AS "secretSealed",
  previous_secrets_sealed AS "previousSecretsSealed",
  previous_secrets_until AS "previousSecretsUntil", headers_sealed AS "headersSealed",
  rate_limit_per_second AS "rateLimitPerSecond", max_concurrency AS "maxConcurrency",
  timeout_ms AS "timeoutMs", deliveries_total AS "deliveriesTotal",
  failures_total AS "failuresTotal", consecutive_failures AS "consecutiveFailures",
  last_success_at AS "lastSuccessAt", last_failure_at AS "lastFailureAt", created_at AS "createdAt",
  updated_at AS "updatedAt"`;

export interface NewEndpoint {
  id: string;
  url: string;
  description: string | null;
  eventTypes: string[];
  tenantId: string | null;
  secretSealed: Buffer;
  headersSealed: Buffer | null;
  rateLimitPerSecond: number | null;
  maxConcurrency: number | null;
  timeoutMs: number | null;
}

export type EndpointChanges = Partial<Omit<NewEndpoint, 'id' | 'secretSealed'>>;

const COLUMN_OF: Record<keyof EndpointChanges, string> = {
  url: 'url',
  description: 'description',
  eventTypes: 'event_types',
  tenantId: 'tenant_id',
  headersSealed: 'headers_sealed',
  rateLimitPerSecond: 'rate_limit_per_second',
  maxConcurrency: 'max_concurrency',
  timeoutMs: 'timeout_ms',
};

/** Outcome of recording a failed delivery against its endpoint (the circuit breaker). */
export interface FailureVerdict {
  consecutiveFailures: number;
  /** This failure disabled the endpoint (breaker tripped, or the endpoint answered 410). */
  disabledNow: boolean;
}

/** Subscriber endpoints, their secrets (sealed) and delivery statistics. */
@Injectable()
export class EndpointRepository {
  constructor(private readonly db: Sql) {}

  async create(endpoint: NewEndpoint, audit: readonly AuditEntry[]): Promise<EndpointRow> {
    const rows = await this.db.query<EndpointRow>(
      `WITH created AS (
         INSERT INTO outbound_endpoints (id, url, description, event_types, tenant_id, secret_sealed, headers_sealed,
                                         rate_limit_per_second, max_concurrency, timeout_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         RETURNING ${COLUMNS}
       ), audited AS (${auditInsert(11)})
       SELECT * FROM created`,
      [
        endpoint.id,
        endpoint.url,
        endpoint.description,
        endpoint.eventTypes,
        endpoint.tenantId,
        endpoint.secretSealed,
        endpoint.headersSealed,
        endpoint.rateLimitPerSecond,
        endpoint.maxConcurrency,
        endpoint.timeoutMs,
        ...auditParams(audit),
      ],
    );
    return rows[0];
  }

  find(id: string): Promise<EndpointRow | undefined> {
    return this.db.one<EndpointRow>(`SELECT ${COLUMNS} FROM outbound_endpoints WHERE id = $1`, [id]);
  }

  /** Keyset page in id order. */
  list(after: string | null, limit: number, status?: string): Promise<EndpointRow[]> {
    return this.db.query<EndpointRow>(
      `SELECT ${COLUMNS} FROM outbound_endpoints
        WHERE ($1::uuid IS NULL OR id > $1) AND ($2::text IS NULL OR status = $2)
        ORDER BY id LIMIT $3`,
      [after, status ?? null, limit],
    );
  }

  async update(id: string, changes: EndpointChanges, audit: readonly AuditEntry[]): Promise<EndpointRow | undefined> {
    const sets: string[] = [];
    const values: unknown[] = [id];
    for (const [key, value] of Object.entries(changes)) {
      if (value === undefined) continue;
      values.push(value);
      sets.push(`${COLUMN_OF[key as keyof EndpointChanges]} = $${values.length}`);
    }
    // Any change may touch the sealed fields (headers): workers decrypt them again.
    return this.write(
      `${sets.length ? `${sets.join(', ')},` : ''} sealed_version = sealed_version + 1, updated_at = now()`,
      values,
      audit,
    );
  }

  setDisabled(id: string, reason: string, audit: readonly AuditEntry[]): Promise<EndpointRow | undefined> {
    return this.write(
      `status = 'disabled', disabled_reason = $2, disabled_at = now(), updated_at = now()`,
      [id, reason],
      audit,
    );
  }

  enable(id: string, audit: readonly AuditEntry[]): Promise<EndpointRow | undefined> {
    return this.write(
      `status = 'active', disabled_reason = NULL, disabled_at = NULL, consecutive_failures = 0, updated_at = now()`,
      [id],
      audit,
    );
  }

  /**
   * The current secret joins the previous ones (until `previousUntil`); those past their grace period are
   * dropped, and beyond `keep` the ones that expire first. One statement: concurrent rotations each see the
   * other's result, so no secret handed out is lost.
   */
  rotateSecret(
    id: string,
    secretSealed: Buffer,
    previousUntil: Date,
    keep: number,
    audit: readonly AuditEntry[],
  ): Promise<EndpointRow | undefined> {
    return this.write(
      `(previous_secrets_sealed, previous_secrets_until) = (
         SELECT coalesce(array_agg(kept.s ORDER BY kept.u DESC), '{}'), coalesce(array_agg(kept.u ORDER BY kept.u DESC), '{}')
           FROM (SELECT signing.s, signing.u
                   FROM (SELECT secret_sealed AS s, $3::timestamptz AS u
                         UNION ALL
                         SELECT p.s, p.u FROM unnest(previous_secrets_sealed, previous_secrets_until) AS p(s, u)
                          WHERE p.u > now()) AS signing
                  ORDER BY signing.u DESC LIMIT $4) AS kept),
       secret_sealed = $2, sealed_version = sealed_version + 1, updated_at = now()`,
      [id, secretSealed, previousUntil, keep],
      audit,
    );
  }

  async delete(id: string, audit: readonly AuditEntry[]): Promise<boolean> {
    const rows = await this.db.query(
      `WITH deleted AS (DELETE FROM outbound_endpoints WHERE id = $1 RETURNING id),
            audited AS (${auditInsert(2)} WHERE EXISTS (SELECT 1 FROM deleted))
       SELECT id FROM deleted`,
      [id, ...auditParams(audit)],
    );
    return rows.length > 0;
  }

  /**
   * Counts a failure; disables the endpoint when it reached the breaker threshold or when
   * `disableReason` is forced (410). Tells whether this very statement disabled it.
   */
  async recordFailure(
    id: string,
    threshold: number,
    forcedReason: string | null,
    breakerReason: string,
  ): Promise<FailureVerdict> {
    const row = await this.db.one<{ consecutive_failures: number; disabled_now: boolean }>(
      `WITH before AS (SELECT status FROM outbound_endpoints WHERE id = $1 FOR UPDATE)
       UPDATE outbound_endpoints e
          SET deliveries_total = deliveries_total + 1,
              failures_total = failures_total + 1,
              consecutive_failures = consecutive_failures + 1,
              last_failure_at = now(),
              status = CASE WHEN $3::text IS NOT NULL OR consecutive_failures + 1 >= $2 THEN 'disabled' ELSE e.status END,
              disabled_reason = CASE
                WHEN e.status = 'disabled' THEN e.disabled_reason
                WHEN $3::text IS NOT NULL THEN $3
                WHEN e.consecutive_failures + 1 >= $2 THEN $4
                ELSE e.disabled_reason END,
              disabled_at = CASE
                WHEN e.status = 'active' AND ($3::text IS NOT NULL OR consecutive_failures + 1 >= $2) THEN now()
                ELSE e.disabled_at END
         FROM before
        WHERE e.id = $1
        RETURNING e.consecutive_failures, (before.status = 'active' AND e.status = 'disabled') AS disabled_now`,
      [id, threshold, forcedReason, breakerReason],
    );
    return {
      consecutiveFailures: row?.consecutive_failures ?? 0,
      disabledNow: row?.disabled_now ?? false,
    };
  }

  async appendAudit(audit: readonly AuditEntry[]): Promise<void> {
    await this.db.query(auditInsert(1), auditParams(audit));
  }

  private async write(set: string, values: unknown[], audit: readonly AuditEntry[]): Promise<EndpointRow | undefined> {
    const first = values.length + 1;
    const rows = await this.db.query<EndpointRow>(
      `WITH changed AS (UPDATE outbound_endpoints SET ${set} WHERE id = $1 RETURNING ${COLUMNS}),
            audited AS (${auditInsert(first)} WHERE EXISTS (SELECT 1 FROM changed))
       SELECT * FROM changed`,
      [...values, ...auditParams(audit)],
    );
    return rows[0];
  }
}
