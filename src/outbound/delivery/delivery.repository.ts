import { Injectable } from '@nestjs/common';
import { AuditAction, AuditEntry } from '../../audit/audit-actions';
import { auditInsert, auditParams, auditRows, insertAudit } from '../../audit/audit-sql';
import {
  DeliveryLetter,
  deliveryLetterParams,
  markDeliveryLettersReplayed,
  upsertDeliveryLetter,
} from '../../dead-letters/dead-letter.sql';
import { GroupCommit } from '../../platform/database/group-commit';
import { Sql } from '../../platform/database/sql';

export interface NewOutboundEvent {
  id: string;
  eventType: string;
  tenantId: string | null;
  priority: number;
  deliverAt: Date | null;
  dataSealed: Buffer;
  publisher: string;
  idempotencyKey: string | null;
  correlationId: string | null;
  /** With tracing on: the publisher's traceparent (ids only). */
  traceParent: string | null;
}

export interface TriggerResult {
  eventId: string;
  endpointCount: number;
  /** An earlier trigger with the same Idempotency-Key: nothing new was stored. */
  duplicate: boolean;
  priority: number;
  deliverAt: Date | null;
}

/** One of several events of the same type, tenant and priority stored by one statement (the bridge's). */
export interface NewSystemEvent {
  id: string;
  dataSealed: Buffer;
  idempotencyKey: string;
  correlationId: string | null;
  traceParent: string | null;
}

export interface StoredFanout {
  eventId: string;
  endpointCount: number;
  /** The event's deliveries, in id order; null when the fan-out is too large to hold here (stream it instead). */
  deliveryIds: string[] | null;
}

export interface DispatchableEvent {
  id: string;
  priority: number;
  deliverAt: Date | null;
  dispatchCursor: string;
}

/** A pending delivery to put back on the queue after Redis lost its jobs. */
export interface PendingDelivery {
  id: string;
  requeues: number;
  priority: number;
  attempts: number;
  /** Epoch milliseconds. */
  lastAttemptMs: number | null;
  deliverAtMs: number | null;
}

/** Everything one attempt needs, read in one statement (the event's data is read separately, once per event). */
export interface DeliveryTarget {
  id: string;
  status: 'pending' | 'succeeded' | 'failed';
  attempts: number;
  /** Times the delivery was reset to pending: part of its single job's id. */
  requeues: number;
  eventId: string;
  endpointId: string;
  eventType: string;
  /** Epoch milliseconds (numbers parse far faster than timestamps on this hot path). */
  eventCreatedMs: number;
  correlationId: string | null;
  /** With tracing on: the trace its event was published in. */
  traceParent: string | null;
  priority: number;
  url: string | null;
  endpointStatus: 'active' | 'disabled' | null;
  /** Compared with the version of the endpoint's secrets and headers the worker has opened already. */
  sealedVersion: number | null;
  /** Epoch milliseconds: when it was last attempted, and when its event is to be delivered. */
  lastAttemptMs: number | null;
  deliverAtMs: number | null;
  rateLimitPerSecond: number | null;
  maxConcurrency: number | null;
  timeoutMs: number | null;
}

/** An endpoint's sealed fields, read when a worker has not opened this version of them yet. */
export interface EndpointSealed {
  sealedVersion: number;
  secretSealed: Buffer;
  /** The rotated-out secrets still inside their grace period, newest first. */
  previousSecretsSealed: Buffer[];
  /** Epoch milliseconds, one per previous secret: it stops signing then. */
  previousSecretsUntilMs: number[];
  headersSealed: Buffer | null;
}

export interface AttemptRecord {
  deliveryId: string;
  endpointId: string;
  eventId: string;
  attempt: number;
  category: string | null;
  responseCode: number | null;
  durationMs: number;
  /** How many bytes the subscriber answered (as read: reading stops past 64 KB). */
  responseBytes: number | null;
  /** A failure's answer, first 2 KB, sealed; never kept for a success. */
  responseSealed: Buffer | null;
}

export interface AttemptRow {
  id: string;
  deliveryId: string;
  eventId: string;
  attempt: number;
  status: 'success' | 'failure';
  category: string | null;
  responseCode: number | null;
  durationMs: number;
  responseBytes: number | null;
  /** Whether a sealed answer is kept (it is opened only through `attemptResponse`). */
  responseKept: boolean;
  createdAt: Date;
}

export interface AttemptResponseRow {
  id: string;
  deliveryId: string;
  attempt: number;
  responseCode: number | null;
  responseBytes: number | null;
  responseSealed: Buffer | null;
}

export interface RequeuedDelivery {
  id: string;
  requeues: number;
  priority: number;
}

/** What a bulk retry of deliveries covers (dates as ISO strings: it is stored on its operation). */
export interface RetryFilter {
  endpointId?: string;
  /** Statuses to retry: failed, and succeeded to send delivered ones again. */
  statuses: Array<'failed' | 'succeeded'>;
  eventType?: string;
  /** Deliveries created at or after `from` and before `to` (capped at the start). */
  from?: string;
  to: string;
}

/** Deliveries `d` of events `ev` that a retry filter covers, status aside (parameters $1 to $4). */
const RETRY_MATCH = `($1::uuid IS NULL OR d.endpoint_id = $1) AND ($2::text IS NULL OR ev.event_type = $2)
            AND ($3::timestamptz IS NULL OR d.created_at >= $3) AND d.created_at < $4`;

function retryParams(filter: RetryFilter): unknown[] {
  return [filter.endpointId ?? null, filter.eventType ?? null, filter.from ?? null, filter.to, filter.statuses];
}

/**
 * The SQL condition for the active endpoints of alias `e` that take an event: its type filters
 * (parameter `filters`, a text[]) and its tenant (parameter `tenant`; null: only unscoped endpoints).
 */
function matchingEndpoints(e: string, filters: string, tenant: string | null): string {
  const scoped = tenant === null ? `${e}.tenant_id IS NULL` : `(${e}.tenant_id IS NULL OR ${e}.tenant_id = ${tenant})`;
  return `${e}.status = 'active' AND ${e}.event_types && ${filters}::text[] AND ${scoped}`;
}

/** Outbound events, their deliveries (one per matching endpoint) and every attempt. */
@Injectable()
export class DeliveryRepository {
  private readonly targets: GroupCommit<readonly string[], DeliveryTarget[]>;
  private readonly successes: GroupCommit<AttemptRecord, void>;
  private readonly eventDatas: GroupCommit<string, Buffer | undefined>;
  private readonly sealedEndpoints: GroupCommit<string, EndpointSealed | undefined>;

  constructor(private readonly db: Sql) {
    this.sealedEndpoints = new GroupCommit<string, EndpointSealed | undefined>(
      async (endpointIds) => {
        const rows = await this.db.query<EndpointSealed & { id: string }>(
          `SELECT e.id, e.sealed_version AS "sealedVersion", e.secret_sealed AS "secretSealed",
                  p.previous_secrets_sealed AS "previousSecretsSealed",
                  p.previous_secrets_until_ms AS "previousSecretsUntilMs", e.headers_sealed AS "headersSealed"
             FROM outbound_endpoints e
             CROSS JOIN LATERAL (
               SELECT coalesce(array_agg(s ORDER BY u DESC), '{}') AS previous_secrets_sealed,
                      coalesce(array_agg((extract(epoch FROM u) * 1000)::float8 ORDER BY u DESC), '{}')
                        AS previous_secrets_until_ms
                 FROM unnest(e.previous_secrets_sealed, e.previous_secrets_until) AS previous(s, u)
                WHERE u > now()
             ) p
            WHERE e.id = ANY($1::uuid[])`,
          [[...new Set(endpointIds)]],
        );
        const byId = new Map(rows.map((row) => [row.id, row]));
        return endpointIds.map((id) => byId.get(id));
      },
      { name: 'outbound.endpoint-secrets', maxBatchWeight: 500, maxInFlight: 2, maxPending: 50_000 },
    );
    this.eventDatas = new GroupCommit<string, Buffer | undefined>(
      async (eventIds) => {
        const rows = await this.db.query<{ id: string; data_sealed: Buffer }>(
          `SELECT id, data_sealed FROM outbound_events WHERE id = ANY($1::uuid[])`,
          [[...new Set(eventIds)]],
        );
        const byId = new Map(rows.map((row) => [row.id, row.data_sealed]));
        return eventIds.map((id) => byId.get(id));
      },
      { name: 'outbound.event-data', maxBatchWeight: 500, maxInFlight: 4, maxPending: 50_000 },
    );
    this.targets = new GroupCommit<readonly string[], DeliveryTarget[]>(
      async (lists) => {
        const byId = new Map((await this.targetRows(lists.flat())).map((row) => [row.id, row]));
        return lists.map((ids) => ids.flatMap((id) => byId.get(id) ?? []));
      },
      {
        name: 'outbound.targets',
        maxBatchWeight: 1000,
        maxInFlight: 4,
        weight: (ids) => ids.length,
        maxPending: 10_000,
      },
    );
    this.successes = new GroupCommit<AttemptRecord, void>(
      async (records) => {
        await this.writeSuccesses(records);
        return records.map(() => undefined);
      },
      { name: 'outbound.successes', maxBatchWeight: 500, maxInFlight: 3, maxPending: 50_000 },
    );
  }

  /**
   * Stores the event and one delivery per matching active endpoint in ONE statement (so one transaction,
   * one round trip): the fan-out is an INSERT … SELECT, no endpoint list ever enters this process. The
   * count and the fan-out read the same snapshot, so `endpoint_count` is exactly the rows written.
   */
  async trigger(event: NewOutboundEvent, filters: string[], audit: AuditEntry): Promise<TriggerResult> {
    const matching = (e: string) => matchingEndpoints(e, '$10', '$3');
    const created = await this.db.one<{ endpoint_count: number }>(
      `WITH matched AS (SELECT count(*)::int AS n FROM outbound_endpoints e WHERE ${matching('e')}),
       ev AS (
         INSERT INTO outbound_events (id, event_type, tenant_id, priority, deliver_at, data_sealed, publisher,
                                      idempotency_key, correlation_id, endpoint_count, dispatched_at, trace_parent)
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, matched.n, CASE WHEN matched.n = 0 THEN now() END, $11 FROM matched
         ON CONFLICT (publisher, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
         RETURNING id, endpoint_count
       ), fanout AS (
         INSERT INTO outbound_deliveries (event_id, endpoint_id)
         SELECT ev.id, e.id FROM ev CROSS JOIN outbound_endpoints e WHERE ${matching('e')}
       ), audited AS (
         ${auditInsert(12)} WHERE EXISTS (SELECT 1 FROM ev)
       )
       SELECT endpoint_count FROM ev`,
      [
        event.id,
        event.eventType,
        event.tenantId,
        event.priority,
        event.deliverAt,
        event.dataSealed,
        event.publisher,
        event.idempotencyKey,
        event.correlationId,
        filters,
        event.traceParent,
        ...auditParams([audit]),
      ],
    );
    if (created) {
      return {
        eventId: event.id,
        endpointCount: created.endpoint_count,
        duplicate: false,
        priority: event.priority,
        deliverAt: event.deliverAt,
      };
    }
    const first = await this.db.one<{ id: string; endpoint_count: number; priority: number; deliver_at: Date | null }>(
      `SELECT id, endpoint_count, priority, deliver_at FROM outbound_events WHERE publisher = $1 AND idempotency_key = $2`,
      [event.publisher, event.idempotencyKey],
    );
    if (!first) throw new Error('idempotent trigger: the first event is not visible');
    return {
      eventId: first.id,
      endpointCount: first.endpoint_count,
      duplicate: true,
      priority: first.priority,
      deliverAt: first.deliver_at,
    };
  }

  /**
   * Stores several events of one type (no tenant, no deliverAt) and their fan-outs in ONE statement, for
   * a publisher that emits many small events (the bridge: one per inbound message). Events whose
   * idempotency key is known are skipped and not returned. Up to `inlineFanout` endpoints, the new
   * delivery ids come back with their event, so they can be queued without reading them again.
   */
  async triggerMany(
    events: readonly NewSystemEvent[],
    shared: { eventType: string; priority: number; publisher: string; filters: string[]; inlineFanout: number },
  ): Promise<StoredFanout[]> {
    if (events.length === 0) return [];
    const matching = matchingEndpoints('e', '$8', null);
    const rows = await this.db.query<{ id: string; endpoint_count: number; delivery_ids: string[] | null }>(
      `WITH matched AS (SELECT count(*)::int AS n FROM outbound_endpoints e WHERE ${matching}),
       ev AS (
         INSERT INTO outbound_events (id, event_type, tenant_id, priority, deliver_at, data_sealed, publisher,
                                      idempotency_key, correlation_id, endpoint_count, dispatched_at, trace_parent)
         SELECT i.id, $5, NULL, $6, NULL, i.data_sealed, $7, i.idempotency_key, i.correlation_id, matched.n,
                CASE WHEN matched.n = 0 THEN now() END, i.trace_parent
           FROM unnest($1::uuid[], $2::bytea[], $3::text[], $4::text[], $10::text[])
                  AS i(id, data_sealed, idempotency_key, correlation_id, trace_parent),
                matched
         ON CONFLICT (publisher, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
         RETURNING id, endpoint_count, correlation_id
       ), fanout AS (
         INSERT INTO outbound_deliveries (event_id, endpoint_id)
         SELECT ev.id, e.id FROM ev CROSS JOIN outbound_endpoints e WHERE ${matching}
         RETURNING id, event_id
       ), audited AS (
         ${insertAudit(
           auditRows(
             {
               action: `'${AuditAction.OutboundEventTriggered}'`,
               outcome: `'success'`,
               event_id: 'ev.id',
               correlation_id: 'ev.correlation_id',
               actor: '$7',
               metadata: `jsonb_build_object('eventType', $5::text, 'priority', $6::int, 'tenantId', NULL)`,
             },
             'FROM ev',
           ),
         )}
       )
       SELECT ev.id, ev.endpoint_count,
              CASE WHEN ev.endpoint_count <= $9 THEN
                (SELECT array_agg(f.id::text ORDER BY f.id) FROM fanout f WHERE f.event_id = ev.id) END AS delivery_ids
         FROM ev`,
      [
        events.map((event) => event.id),
        events.map((event) => event.dataSealed),
        events.map((event) => event.idempotencyKey),
        events.map((event) => event.correlationId),
        shared.eventType,
        shared.priority,
        shared.publisher,
        shared.filters,
        shared.inlineFanout,
        events.map((event) => event.traceParent),
      ],
    );
    return rows.map((row) => ({
      eventId: row.id,
      endpointCount: row.endpoint_count,
      deliveryIds: row.endpoint_count === 0 ? [] : row.delivery_ids,
    }));
  }

  /** Events whose deliveries were all queued at once (by the publisher, not paged by the dispatcher). */
  async markDispatched(eventIds: readonly string[]): Promise<void> {
    if (eventIds.length === 0) return;
    await this.db.query(
      `UPDATE outbound_events SET dispatched_at = now() WHERE id = ANY($1::uuid[]) AND dispatched_at IS NULL`,
      [eventIds],
    );
  }

  /** The next page of an event's deliveries for the dispatcher (keyset on the delivery id). */
  async deliveryPage(eventId: string, afterId: string, limit: number): Promise<string[]> {
    const rows = await this.db.query<{ id: string }>(
      `SELECT id FROM outbound_deliveries WHERE event_id = $1 AND id > $2 ORDER BY id LIMIT $3`,
      [eventId, afterId, limit],
    );
    return rows.map((row) => row.id);
  }

  async markDispatchProgress(eventId: string, cursor: string, done: boolean): Promise<void> {
    await this.db.query(
      `UPDATE outbound_events SET dispatch_cursor = GREATEST(dispatch_cursor, $2::bigint),
              dispatched_at = CASE WHEN $3 THEN now() ELSE dispatched_at END
        WHERE id = $1`,
      [eventId, cursor, done],
    );
  }

  /** Events whose deliveries are not all on the queue yet (the dispatcher died, or Redis was away). */
  findUndispatched(olderThanMs: number, limit: number): Promise<DispatchableEvent[]> {
    return this.db.query<DispatchableEvent>(
      `SELECT id, priority, deliver_at AS "deliverAt", dispatch_cursor AS "dispatchCursor" FROM outbound_events
        WHERE dispatched_at IS NULL AND created_at < now() - make_interval(secs => $1::float / 1000)
        ORDER BY created_at LIMIT $2`,
      [olderThanMs, limit],
    );
  }

  /** A page of the pending deliveries of events dispatched before `dispatchedBefore` (keyset on the id). */
  pendingOfDispatched(dispatchedBefore: Date, afterId: string, limit: number): Promise<PendingDelivery[]> {
    return this.db.query<PendingDelivery>(
      `SELECT d.id, d.requeues, e.priority, d.attempts,
              (extract(epoch FROM d.last_attempt_at) * 1000)::float8 AS "lastAttemptMs",
              (extract(epoch FROM e.deliver_at) * 1000)::float8 AS "deliverAtMs"
         FROM outbound_deliveries d JOIN outbound_events e ON e.id = d.event_id
        WHERE d.id > $1 AND d.status = 'pending' AND e.dispatched_at < $2
        ORDER BY d.id LIMIT $3`,
      [afterId, dispatchedBefore, limit],
    );
  }

  findDispatchable(eventId: string): Promise<DispatchableEvent | undefined> {
    return this.db.one<DispatchableEvent>(
      `SELECT id, priority, deliver_at AS "deliverAt", dispatch_cursor AS "dispatchCursor" FROM outbound_events
        WHERE id = $1`,
      [eventId],
    );
  }

  async target(deliveryId: string): Promise<DeliveryTarget | undefined> {
    return (await this.targets.submit([deliveryId]))[0];
  }

  /** The targets of a batch job's deliveries (those that no longer exist are left out); concurrent reads share a statement. */
  targetsOf(deliveryIds: readonly string[]): Promise<DeliveryTarget[]> {
    return this.targets.submit(deliveryIds);
  }

  private targetRows(ids: readonly string[]): Promise<DeliveryTarget[]> {
    return this.db.query<DeliveryTarget>(
      `SELECT d.id, d.status, d.attempts, d.requeues, d.event_id AS "eventId", d.endpoint_id AS "endpointId",
              (extract(epoch FROM d.last_attempt_at) * 1000)::float8 AS "lastAttemptMs",
              (extract(epoch FROM ev.deliver_at) * 1000)::float8 AS "deliverAtMs",
              ev.event_type AS "eventType", (extract(epoch FROM ev.created_at) * 1000)::float8 AS "eventCreatedMs",
              ev.correlation_id AS "correlationId", ev.trace_parent AS "traceParent", ev.priority, e.url,
              e.status AS "endpointStatus",
              e.sealed_version AS "sealedVersion", e.rate_limit_per_second AS "rateLimitPerSecond",
              e.max_concurrency AS "maxConcurrency", e.timeout_ms AS "timeoutMs"
         FROM outbound_deliveries d
         JOIN outbound_events ev ON ev.id = d.event_id
         LEFT JOIN outbound_endpoints e ON e.id = d.endpoint_id
        WHERE d.id = ANY($1::bigint[])`,
      [ids],
    );
  }

  /** An endpoint's secrets and headers, sealed; reads asked for together share one statement. */
  endpointSealed(endpointId: string): Promise<EndpointSealed | undefined> {
    return this.sealedEndpoints.submit(endpointId);
  }

  /** An event's sealed data; reads asked for together (a batch of many events' deliveries) share one statement. */
  eventData(eventId: string): Promise<Buffer | undefined> {
    return this.eventDatas.submit(eventId);
  }

  /** A successful attempt; concurrent ones share one statement (attempt rows and deliveries). */
  recordSuccess(record: AttemptRecord): Promise<void> {
    return this.successes.submit(record);
  }

  /** A failed attempt; `final` closes the delivery as failed, otherwise it stays pending for its retry. */
  async recordFailure(record: AttemptRecord, final: boolean): Promise<void> {
    await this.db.query(
      `WITH attempt AS (
         INSERT INTO outbound_attempts (delivery_id, endpoint_id, event_id, attempt, status, category, response_code,
                                        duration_ms, response_bytes, response_sealed)
         VALUES ($1, $2, $3, $4, 'failure', $5, $6, $7, $8, $9)
       )
       UPDATE outbound_deliveries
          SET attempts = $4, last_category = $5, last_status_code = $6, last_attempt_at = now(),
              status = CASE WHEN $10 THEN 'failed' ELSE 'pending' END,
              completed_at = CASE WHEN $10 THEN now() END
        WHERE id = $1`,
      [
        record.deliveryId,
        record.endpointId,
        record.eventId,
        record.attempt,
        record.category,
        record.responseCode,
        record.durationMs,
        record.responseBytes,
        record.responseSealed,
        final,
      ],
    );
  }

  /** Closes a delivery that cannot be attempted (its endpoint is disabled or gone) without an attempt. */
  async closeUnattempted(deliveryId: string, category: string): Promise<void> {
    await this.db.query(
      `UPDATE outbound_deliveries SET status = 'failed', last_category = $2, completed_at = now()
        WHERE id = $1 AND status = 'pending'`,
      [deliveryId, category],
    );
  }

  /** Dead-letters an exhausted delivery (no content: ids, category, status codes) with its audit entry. */
  async deadLetter(letter: DeliveryLetter, audit: readonly AuditEntry[]): Promise<void> {
    await this.db.query(
      `WITH letter AS (
         ${upsertDeliveryLetter(1)}
       )
       ${auditInsert(10)}`,
      [...deliveryLetterParams(letter), ...auditParams(audit)],
    );
  }

  /** Deliveries a bulk retry (or an endpoint's recover) would put back on the queue. */
  async countRetryable(filter: RetryFilter): Promise<number> {
    const row = await this.db.one<{ n: number }>(
      `SELECT count(*)::int AS n FROM outbound_deliveries d JOIN outbound_events ev ON ev.id = d.event_id
        WHERE ${RETRY_MATCH} AND d.status = ANY($5::text[])`,
      retryParams(filter),
    );
    return row?.n ?? 0;
  }

  /**
   * One batch of a bulk retry, in delivery id order after `afterId`: the matching deliveries are put back to
   * pending with a fresh attempt budget (their dead letters marked replayed) and returned for the queue.
   * `resumed`: pending deliveries already requeued once are returned too, for a batch that took effect
   * before it was interrupted (their job ids are the same, so a job still queued is not added twice).
   */
  async requeueMatching(
    filter: RetryFilter,
    afterId: string,
    limit: number,
    resumed: boolean,
  ): Promise<{ scanned: number; lastId: string | null; locked: number; deliveries: RequeuedDelivery[] }> {
    const row = await this.db.one<{
      scanned: number;
      last_id: string | null;
      locked: number;
      deliveries: RequeuedDelivery[];
    }>(
      `WITH candidates AS (
         SELECT d.id, d.status FROM outbound_deliveries d JOIN outbound_events ev ON ev.id = d.event_id
          WHERE ${RETRY_MATCH} AND d.id > $6
            AND (d.status = ANY($5::text[]) OR ($8 AND d.status = 'pending' AND d.requeues > 0))
          ORDER BY d.id LIMIT $7
       ), picked AS (
         SELECT d.id FROM outbound_deliveries d JOIN candidates c ON c.id = d.id
          WHERE c.status <> 'pending'
          FOR UPDATE OF d SKIP LOCKED
       ), reset AS (
         UPDATE outbound_deliveries d
            SET status = 'pending', attempts = 0, requeues = requeues + 1, completed_at = NULL
           FROM picked WHERE d.id = picked.id
         RETURNING d.id, d.requeues, d.event_id
       ), letters AS (
         ${markDeliveryLettersReplayed('reset')}
       ), again AS (
         SELECT d.id, d.requeues, d.event_id FROM outbound_deliveries d JOIN candidates c ON c.id = d.id
          WHERE c.status = 'pending'
       ), queued AS (
         SELECT q.id, q.requeues, ev.priority FROM (SELECT * FROM reset UNION ALL SELECT * FROM again) q
           JOIN outbound_events ev ON ev.id = q.event_id
       )
       SELECT (SELECT count(*) FROM candidates)::int AS scanned, (SELECT max(id) FROM candidates)::text AS last_id,
              ((SELECT count(*) FROM candidates WHERE status <> 'pending') - (SELECT count(*) FROM picked))::int AS locked,
              coalesce((SELECT json_agg(json_build_object('id', id::text, 'requeues', requeues, 'priority', priority)
                                 ORDER BY id) FROM queued), '[]') AS deliveries`,
      [...retryParams(filter), afterId, limit, resumed],
    );
    return {
      scanned: row?.scanned ?? 0,
      lastId: row?.last_id ?? null,
      locked: row?.locked ?? 0,
      deliveries: row?.deliveries ?? [],
    };
  }

  /**
   * Single delivery retry (or resend of a delivered one): back to pending with a fresh attempt budget.
   * A delivery still pending already has a job on the queue: `pending` tells the caller.
   */
  async requeueOne(endpointId: string, deliveryId: string): Promise<RequeuedDelivery | { pending: true } | undefined> {
    const row = await this.db.one<RequeuedDelivery & { pending: boolean }>(
      `WITH reset AS (
         UPDATE outbound_deliveries
            SET status = 'pending', attempts = 0, requeues = requeues + 1, completed_at = NULL
          WHERE id = $2 AND endpoint_id = $1 AND status <> 'pending'
         RETURNING id, requeues, event_id
       ), letters AS (
         ${markDeliveryLettersReplayed('reset')}
       )
       SELECT reset.id, reset.requeues, ev.priority, false AS pending FROM reset JOIN outbound_events ev ON ev.id = reset.event_id
       UNION ALL
       SELECT id, requeues, 0, true FROM outbound_deliveries WHERE id = $2 AND endpoint_id = $1 AND status = 'pending'`,
      [endpointId, deliveryId],
    );
    if (!row) return undefined;
    return row.pending ? { pending: true } : { id: row.id, requeues: row.requeues, priority: row.priority };
  }

  attempts(endpointId: string, beforeId: string | null, limit: number): Promise<AttemptRow[]> {
    return this.db.query<AttemptRow>(
      `SELECT id, delivery_id AS "deliveryId", event_id AS "eventId", attempt, status, category,
              response_code AS "responseCode", duration_ms AS "durationMs", response_bytes AS "responseBytes",
              response_sealed IS NOT NULL AS "responseKept", created_at AS "createdAt"
         FROM outbound_attempts
        WHERE endpoint_id = $1 AND ($2::bigint IS NULL OR id < $2)
        ORDER BY id DESC LIMIT $3`,
      [endpointId, beforeId, limit],
    );
  }

  /** One attempt's sealed answer, with the audit entry of whoever opens it, in one statement. */
  async attemptResponse(
    endpointId: string,
    attemptId: string,
    audit: readonly AuditEntry[],
  ): Promise<AttemptResponseRow | undefined> {
    return this.db.one<AttemptResponseRow>(
      `WITH found AS (
         SELECT id, delivery_id::text AS "deliveryId", attempt, response_code AS "responseCode",
                response_bytes AS "responseBytes", response_sealed AS "responseSealed" FROM outbound_attempts
          WHERE endpoint_id = $1 AND id = $2
       ), audited AS (${auditInsert(3)} WHERE EXISTS (SELECT 1 FROM found WHERE "responseSealed" IS NOT NULL))
       SELECT * FROM found`,
      [endpointId, attemptId, ...auditParams(audit)],
    );
  }

  async eventSummary(eventId: string): Promise<
    | {
        id: string;
        eventType: string;
        tenantId: string | null;
        priority: number;
        deliverAt: Date | null;
        endpointCount: number;
        dispatchedAt: Date | null;
        createdAt: Date;
        pending: number;
        succeeded: number;
        failed: number;
      }
    | undefined
  > {
    return this.db.one(
      `SELECT ev.id, ev.event_type AS "eventType", ev.tenant_id AS "tenantId", ev.priority, ev.deliver_at AS "deliverAt",
              ev.endpoint_count AS "endpointCount", ev.dispatched_at AS "dispatchedAt", ev.created_at AS "createdAt",
              s.pending, s.succeeded, s.failed
         FROM outbound_events ev
         CROSS JOIN LATERAL (
           SELECT count(*) FILTER (WHERE status = 'pending')::int AS pending,
                  count(*) FILTER (WHERE status = 'succeeded')::int AS succeeded,
                  count(*) FILTER (WHERE status = 'failed')::int AS failed
             FROM outbound_deliveries WHERE event_id = ev.id
         ) s
        WHERE ev.id = $1`,
      [eventId],
    );
  }

  private async writeSuccesses(records: readonly AttemptRecord[]): Promise<void> {
    // One JSON parameter: far cheaper to build in JS than seven array literals. A success's answer is not
    // kept (only its length), so nothing in it can fail this statement.
    await this.db.query(
      `WITH u AS (
         SELECT * FROM json_to_recordset($1::json)
           AS x("deliveryId" bigint, "endpointId" uuid, "eventId" uuid, attempt int, "responseCode" int,
                "durationMs" int, "responseBytes" int)
       ), attempt AS (
         INSERT INTO outbound_attempts (delivery_id, endpoint_id, event_id, attempt, status, response_code, duration_ms,
                                        response_bytes)
         SELECT "deliveryId", "endpointId", "eventId", attempt, 'success', "responseCode", "durationMs", "responseBytes"
           FROM u
       )
       UPDATE outbound_deliveries d
          SET status = 'succeeded', attempts = u.attempt, last_status_code = u."responseCode", last_category = NULL,
              last_attempt_at = now(), completed_at = now()
         FROM u
        WHERE d.id = u."deliveryId"`,
      [JSON.stringify(records)],
    );
  }
}
