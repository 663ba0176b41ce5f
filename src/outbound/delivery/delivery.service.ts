import { Injectable, Logger } from '@nestjs/common';
import { AuditAction, AuditEntry } from '../../audit/audit-actions';
import { AuditService } from '../../audit/audit.service';
import { DataCipher } from '../../platform/crypto/data-cipher';
import { ClassifiedFailure } from '../../platform/failure';
import { uuidv7 } from '../../platform/crypto/ids';
import { AppConfig } from '../../platform/config/app-config';
import { DeliveryClient } from './delivery.client';
import {
  AttemptFailure,
  classifyStatus,
  classifyTransport,
  dueIn,
  isPermanent,
  nextAttemptDelay,
} from './delivery-outcome';
import { AttemptRecord, DeliveryRepository, DeliveryTarget, EndpointSealed } from './delivery.repository';
import { EndpointRepository } from '../endpoints/endpoint.repository';
import { EndpointStats } from '../endpoints/endpoint-stats';
import { signDelivery } from '../endpoints/endpoint-secret';
import { OutboundEventType } from '../events/event-types';
import { DeliveryDispatcher } from './delivery.dispatcher';
import { OutboundEventPublisher } from '../events/outbound-event.publisher';
import { DeliverySlots } from './delivery-slots';
import { ConcurrencyGate, RateLimiter } from './rate-limiter';

/** What the processor must do with the job after one run. */
export type DeliveryStep =
  | { kind: 'done'; outcome: 'delivered' | 'skipped' }
  | { kind: 'dead-lettered' }
  /** Come back later: the attempt budget is untouched unless an attempt was made. */
  | { kind: 'later'; delayMs: number; slotAt?: number; busy?: number };

/** What became of a batch job's deliveries. */
export interface BatchOutcome {
  delivered: number;
  skipped: number;
  /** Handed off to a job of their own: to wait for a slot, for their next attempt, or after a rerun. */
  handedOff: number;
  deadLettered: number;
}

export interface DeliveryRun {
  deliveryId: string;
  jobId: string | null;
  slotAt?: number;
  busy?: number;
}

/**
 * One delivery's run inside its slot. A success is answered before its attempt row is committed (the write
 * joins a group commit): the slot and the endpoint's concurrency are freed as soon as the subscriber has
 * answered, and the job waits for `recorded` outside them. A crash in between re-runs the job, which
 * re-sends the delivery under the same `webhook-id`.
 */
interface SlotRun {
  step: DeliveryStep;
  recorded?: Promise<void>;
}

/** An endpoint's secrets and custom headers, decrypted, for one version of its sealed fields. */
interface OpenedEndpoint {
  version: number;
  /** The current secret, then the previous ones still inside their grace period (newest first). */
  signing: string[];
  /** Epoch milliseconds, one per previous secret: it stops signing then. */
  previousUntil: number[];
  /** The earliest of them: until then `signing` holds without looking (epoch ms). */
  signingUntil: number;
  /** Its custom headers, then ours, as undici's flat name/value list; the signature headers follow. */
  headers: string[];
}

/** A previous secret whose grace period ended while its endpoint was opened stops signing. */
function dropExpiredSecrets(endpoint: OpenedEndpoint, now: number): void {
  const kept = endpoint.previousUntil.flatMap((until, i) => (until > now ? [i] : []));
  endpoint.signing = [endpoint.signing[0], ...kept.map((i) => endpoint.signing[i + 1])];
  endpoint.previousUntil = kept.map((i) => endpoint.previousUntil[i]);
  endpoint.signingUntil = Math.min(Infinity, ...endpoint.previousUntil);
}

/** The step, once its success write (if any) is committed. */
async function committed(run: SlotRun): Promise<DeliveryStep> {
  if (run.recorded) await run.recorded;
  return run.step;
}

/** An endpoint answering within this (its recent average) is waited for by a batch when it is at its cap. */
const FAST_ENDPOINT_MS = 100;
/** The longest a batch's delivery waits for such an endpoint before it is handed off after all. */
const ENDPOINT_WAIT_MS = 1000;
/** Event bodies kept for the deliveries still to come (bytes); larger bodies are read per delivery. */
const BODY_CACHE_BYTES = 32 * 1024 * 1024;
const LARGEST_CACHED_BODY = 1024 * 1024;

/**
 * One run of a delivery job: admission (rate limit, concurrency cap), one signed attempt, and its
 * consequences (stats, circuit breaker, retry schedule, dead letter). Never throws for a delivery failure.
 */
@Injectable()
export class DeliveryService {
  private readonly logger = new Logger(DeliveryService.name);
  private readonly bodies = new Map<string, string>();
  private readonly loadingBodies = new Map<string, Promise<string>>();
  private cachedBytes = 0;
  /** Recent latency per endpoint: how long a job waits when the endpoint's slots are all taken. */
  private readonly latency = new Map<string, number>();
  /** Per endpoint: the next free turn handed to a job parked because the endpoint was at its cap (epoch ms). */
  private readonly nextTurn = new Map<string, number>();
  private readonly gate = new ConcurrencyGate();
  private readonly slots: DeliverySlots;
  private readonly openedEndpoints = new Map<string, OpenedEndpoint>();

  constructor(
    private readonly config: AppConfig,
    private readonly cipher: DataCipher,
    private readonly deliveries: DeliveryRepository,
    private readonly endpoints: EndpointRepository,
    private readonly stats: EndpointStats,
    private readonly limiter: RateLimiter,
    private readonly client: DeliveryClient,
    private readonly publisher: OutboundEventPublisher,
    private readonly audit: AuditService,
    private readonly dispatcher: DeliveryDispatcher,
  ) {
    this.slots = new DeliverySlots(config.outbound.workerConcurrency);
  }

  /** One delivery's job. */
  async run(run: DeliveryRun): Promise<DeliveryStep> {
    const target = await this.deliveries.target(run.deliveryId);
    if (!target || target.status !== 'pending') return { kind: 'done', outcome: 'skipped' };
    return committed(await this.slots.run(target.priority, () => this.deliver(target, run)));
  }

  /**
   * A batch job: one read for all its deliveries, sent concurrently. A delivery that must wait or be
   * retried is handed off to a job of its own before the batch completes. `rerun` (the batch was started
   * before: a stall, or Postgres was down) hands off every delivery still pending instead, under its single
   * job's id, so one handed off by the earlier run is not queued, nor sent, twice.
   */
  async runBatch(deliveryIds: readonly string[], jobId: string | null, rerun: boolean): Promise<BatchOutcome> {
    const targets = (await this.deliveries.targetsOf(deliveryIds)).filter((target) => target.status === 'pending');
    const outcome: BatchOutcome = {
      delivered: 0,
      skipped: deliveryIds.length - targets.length,
      handedOff: 0,
      deadLettered: 0,
    };
    if (rerun) {
      // Each when it is due: one whose failed attempt the earlier run recorded but did not hand off (it died,
      // or Postgres went, in between) keeps its place in the retry schedule.
      const now = Date.now();
      await this.dispatcher.enqueue(
        targets.map((target) => ({
          ...this.queued(target),
          delayMs: dueIn(this.config.outbound.retryScheduleMs, target, now),
        })),
      );
      outcome.handedOff = targets.length;
      return outcome;
    }
    const settled = await Promise.allSettled(
      targets.map(async (target) => {
        const hold = this.holdEndpoint(target);
        const held = typeof hold === 'boolean' ? hold : await hold;
        const step = await committed(
          await this.slots.run(target.priority, () => this.deliver(target, { deliveryId: target.id, jobId }, held)),
        );
        if (step.kind === 'later') {
          await this.dispatcher.enqueue([
            { ...this.queued(target), delayMs: step.delayMs, slotAt: step.slotAt, busy: step.busy },
          ]);
          outcome.handedOff++;
        } else if (step.kind === 'dead-lettered') outcome.deadLettered++;
        else outcome[step.outcome]++;
      }),
    );
    const failed = settled.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
    return outcome;
  }

  private queued(target: DeliveryTarget): { id: string; requeues: number; priority: number } {
    return { id: target.id, requeues: target.requeues, priority: target.priority };
  }

  /**
   * A batch's delivery to a fast endpoint that is at its concurrency cap waits (briefly) for one of its
   * slots rather than being handed off to a job of its own: a batch of one busy subscriber's deliveries
   * would otherwise cost a queue job per delivery. A slow or unknown endpoint is never waited for, so it
   * cannot hold the worker's batches (it is handed off as before). True when the slot is held; a promise
   * only when it has to wait for one.
   */
  private holdEndpoint(target: DeliveryTarget): boolean | Promise<boolean> {
    const typical = this.latency.get(target.endpoint_id);
    if (!target.url || target.endpoint_status !== 'active' || typical === undefined || typical > FAST_ENDPOINT_MS) {
      return false;
    }
    const cap = target.max_concurrency ?? this.config.outbound.endpointConcurrency;
    return (
      this.gate.tryAcquire(target.endpoint_id, cap) || this.gate.acquire(target.endpoint_id, cap, ENDPOINT_WAIT_MS)
    );
  }

  private async deliver(target: DeliveryTarget, run: DeliveryRun, held = false): Promise<SlotRun> {
    if (!target.url || target.endpoint_status !== 'active') {
      if (held) this.gate.release(target.endpoint_id);
      await this.deliveries.closeUnattempted(target.id, target.url ? 'endpoint_disabled' : 'endpoint_deleted');
      return { step: { kind: 'done', outcome: 'skipped' } };
    }
    const timeoutMs = target.timeout_ms ?? this.config.outbound.timeoutMs;
    const cap = target.max_concurrency ?? this.config.outbound.endpointConcurrency;
    if (!held && !this.gate.tryAcquire(target.endpoint_id, cap)) {
      const busy = (run.busy ?? 0) + 1;
      return { step: { kind: 'later', delayMs: this.busyDelay(target.endpoint_id, busy, cap), busy } };
    }
    try {
      if (target.rate_limit_per_second) {
        const rate = await this.limiter.reserve(target.endpoint_id, target.rate_limit_per_second, run.slotAt);
        if (rate.verdict === 'wait') return { step: { kind: 'later', delayMs: rate.waitMs, slotAt: rate.slotAt } };
      }
      return await this.attempt(target, timeoutMs, run);
    } finally {
      this.gate.release(target.endpoint_id);
    }
  }

  private async attempt(target: DeliveryTarget, timeoutMs: number, run: DeliveryRun): Promise<SlotRun> {
    const attempt = target.attempts + 1;
    const body = this.bodies.get(target.event_id) ?? (await this.body(target));
    const opened = this.openedEndpoints.get(target.endpoint_id);
    const endpoint = opened?.version === target.sealed_version ? opened : await this.open(target.endpoint_id);
    if (!endpoint) {
      // Deleted since its target row was read.
      await this.deliveries.closeUnattempted(target.id, 'endpoint_deleted');
      return { step: { kind: 'done', outcome: 'skipped' } };
    }
    const now = Date.now();
    if (now >= endpoint.signingUntil) dropExpiredSecrets(endpoint, now);
    const headers = endpoint.headers.concat(signDelivery(endpoint.signing, target.event_id, now, body));
    const started = performance.now();
    let failure: AttemptFailure | undefined;
    let responseCode: number | null = null;
    let responseBytes: number | null = null;
    let responseSealed: Buffer | null = null;
    try {
      const response = await this.client.post({ url: target.url as string, headers, body, timeoutMs });
      responseCode = response.statusCode;
      responseBytes = response.bodyBytes;
      if (response.statusCode < 200 || response.statusCode >= 300) {
        failure = classifyStatus(response.statusCode, response.retryAfter);
        // Whatever it holds (our own payload echoed, a NUL): bytes, sealed. A 2xx answer is not kept.
        if (response.kept?.length) responseSealed = this.cipher.encrypt(response.kept);
      }
    } catch (error) {
      failure = classifyTransport(error);
    }
    const durationMs = Math.round(performance.now() - started);
    this.observeLatency(target.endpoint_id, durationMs);
    const record: AttemptRecord = {
      deliveryId: target.id,
      endpointId: target.endpoint_id,
      eventId: target.event_id,
      attempt,
      category: failure?.category ?? null,
      responseCode,
      durationMs,
      responseBytes,
      responseSealed,
    };
    if (!failure) {
      const recorded = this.deliveries.recordSuccess(record);
      // Awaited by the job right after the slot is freed; until then a failed write is not "unhandled".
      recorded.catch(() => undefined);
      this.stats.succeeded(target.endpoint_id);
      return { step: { kind: 'done', outcome: 'delivered' }, recorded };
    }
    return { step: await this.failed(target, record, failure, run) };
  }

  private async failed(
    target: DeliveryTarget,
    record: AttemptRecord,
    failure: AttemptFailure,
    run: DeliveryRun,
  ): Promise<DeliveryStep> {
    const delayMs = isPermanent(failure.category)
      ? undefined
      : nextAttemptDelay(this.config.outbound.retryScheduleMs, record.attempt, failure);
    const final = delayMs === undefined;
    await this.deliveries.recordFailure(record, final);
    await this.stats.flush();
    const threshold = this.config.outbound.breakerThreshold;
    const verdict = await this.endpoints.recordFailure(
      target.endpoint_id,
      threshold,
      failure.category === 'gone' ? 'gone: the endpoint answered 410' : null,
      `circuit breaker: ${threshold} consecutive failures`,
    );
    if (verdict.disabledNow) await this.endpointDisabled(target, failure, verdict.consecutiveFailures);
    if (!final) return { kind: 'later', delayMs };

    this.logger.warn({
      msg: 'outbound delivery dead-lettered',
      deliveryId: target.id,
      endpointId: target.endpoint_id,
      eventId: target.event_id,
      correlationId: target.correlation_id,
      category: failure.category,
      attempts: record.attempt,
    });
    await this.deadLetter(target, {
      category: failure.category,
      error: failure.summary,
      attempts: record.attempt,
      jobId: run.jobId,
      metadata: { responseCode: failure.responseCode },
    });
    return { kind: 'dead-lettered' };
  }

  /** Audit entry, then the `endpoint.disabled` operational event to whoever subscribes to it. */
  private async endpointDisabled(target: DeliveryTarget, failure: AttemptFailure, consecutive: number): Promise<void> {
    const reason =
      failure.category === 'gone'
        ? 'gone: the endpoint answered 410'
        : `circuit breaker: ${this.config.outbound.breakerThreshold} consecutive failures`;
    this.logger.warn({ msg: 'outbound endpoint disabled', endpointId: target.endpoint_id, reason });
    await this.audit
      .record(
        this.entry(target, AuditAction.OutboundEndpointDisabled, 'info', {
          endpointId: target.endpoint_id,
          reason,
          category: failure.category,
          consecutiveFailures: consecutive,
        }),
      )
      .catch(() => undefined);
    await this.publisher
      .publish({
        eventType: OutboundEventType.EndpointDisabled,
        data: {
          endpointId: target.endpoint_id,
          reason,
          lastCategory: failure.category,
          consecutiveFailures: consecutive,
          disabledAt: new Date().toISOString(),
        },
        publisher: 'system',
        idempotencyKey: `endpoint.disabled:${target.endpoint_id}:${target.id}:${target.attempts + 1}`,
        correlationId: target.correlation_id,
      })
      .catch((error: unknown) =>
        this.logger.warn({ msg: 'could not publish endpoint.disabled', error: (error as Error)?.name }),
      );
  }

  /**
   * The endpoint's secrets and custom headers, decrypted once per version of them (a rotation or a PATCH
   * bumps it): target rows carry the version, not the sealed bytes. Concurrent reads share one statement
   * (the repository's group commit); the map is bounded. Undefined: the endpoint is gone.
   */
  private async open(endpointId: string): Promise<OpenedEndpoint | undefined> {
    const sealed = await this.deliveries.endpointSealed(endpointId);
    return sealed && this.opened(endpointId, sealed);
  }

  private opened(endpointId: string, sealed: EndpointSealed): OpenedEndpoint {
    // Deliveries that asked together share the read; the first to get it decrypts for the rest. A read that
    // started before a newer version was opened does not replace it.
    const cached = this.openedEndpoints.get(endpointId);
    if (cached && cached.version >= sealed.sealed_version) return cached;
    const custom = sealed.headers_sealed ? this.cipher.decryptJson<Record<string, string>>(sealed.headers_sealed) : {};
    const opened: OpenedEndpoint = {
      version: sealed.sealed_version,
      signing: [sealed.secret_sealed, ...sealed.previous_secrets_sealed].map((secret) =>
        this.cipher.decryptText(secret),
      ),
      previousUntil: sealed.previous_secrets_until_ms,
      signingUntil: Math.min(Infinity, ...sealed.previous_secrets_until_ms),
      headers: [
        // Names are validated when stored (none of ours, none of webhook-*), but a user-agent is ours to send.
        ...Object.entries(custom).flatMap(([name, value]) =>
          name.toLowerCase() === 'user-agent' ? [] : [name, value],
        ),
        'content-type',
        'application/json',
        'user-agent',
        'Switchboard-Webhooks/1.0',
      ],
    };
    if (!cached && this.openedEndpoints.size >= 10_000) this.openedEndpoints.clear();
    this.openedEndpoints.set(endpointId, opened);
    return opened;
  }

  /** `{"type","timestamp","data"}`, built once per event (the same bytes go to every endpoint). */
  private async body(target: DeliveryTarget): Promise<string> {
    const cached = this.bodies.get(target.event_id);
    if (cached !== undefined) return cached;
    // The batches of one event start together: they share one read of its data.
    let loading = this.loadingBodies.get(target.event_id);
    if (!loading) {
      loading = this.loadBody(target).finally(() => this.loadingBodies.delete(target.event_id));
      this.loadingBodies.set(target.event_id, loading);
    }
    return loading;
  }

  private async loadBody(target: DeliveryTarget): Promise<string> {
    const sealed = await this.deliveries.eventData(target.event_id);
    const data = sealed ? this.cipher.decryptText(sealed) : 'null';
    const body = `{"type":${JSON.stringify(target.event_type)},"timestamp":${JSON.stringify(
      new Date(target.event_created_ms).toISOString(),
    )},"data":${data}}`;
    if (body.length <= LARGEST_CACHED_BODY) {
      while (this.cachedBytes + body.length > BODY_CACHE_BYTES && this.bodies.size > 0) {
        const [oldest, evicted] = this.bodies.entries().next().value as [string, string];
        this.bodies.delete(oldest);
        this.cachedBytes -= evicted.length;
      }
      this.bodies.set(target.event_id, body);
      this.cachedBytes += body.length;
    }
    return body;
  }

  private observeLatency(endpointId: string, durationMs: number): void {
    const previous = this.latency.get(endpointId);
    if (previous === undefined && this.latency.size >= 10_000) this.latency.clear();
    this.latency.set(endpointId, previous === undefined ? durationMs : previous * 0.8 + durationMs * 0.2);
  }

  /**
   * When a job whose endpoint is at its cap comes back. Each one parked here takes the endpoint's next free
   * turn after those already handed out (one every typical response time / cap, after what is in flight
   * and waiting for a slot in this process), so a backlog over the cap returns at the pace the endpoint
   * drains it instead of polling it through Redis. Finding it busy again still doubles the wait (a typical
   * response time, at most 16 times); never more than 30 s.
   */
  private busyDelay(endpointId: string, busy: number, cap: number): number {
    const typical = Math.min(2000, Math.max(20, this.latency.get(endpointId) ?? 100));
    const now = Date.now();
    const drained = now + (this.gate.backlog(endpointId) / Math.max(1, cap)) * typical;
    const turn = Math.max(drained, this.nextTurn.get(endpointId) ?? 0) + typical / Math.max(1, cap);
    if (!this.nextTurn.has(endpointId) && this.nextTurn.size >= 10_000) this.nextTurn.clear();
    this.nextTurn.set(endpointId, Math.min(turn, now + 30_000));
    const backoff = typical * 2 ** Math.min(busy - 1, 4) * (0.5 + Math.random());
    return Math.round(Math.min(30_000, Math.max(backoff, turn - now)));
  }

  /**
   * A job failed every one of its attempts on something other than the subscriber (a fault of ours, not
   * Postgres being down: that waits): each of its deliveries still pending is closed as failed and
   * dead-lettered, so it is visible and can be replayed rather than left pending with no job.
   */
  async abandon(deliveryIds: readonly string[], jobId: string | null, failure: ClassifiedFailure): Promise<void> {
    for (const target of await this.deliveries.targetsOf(deliveryIds)) {
      if (target.status !== 'pending') continue;
      await this.deliveries.closeUnattempted(target.id, failure.category);
      await this.deadLetter(target, {
        category: failure.category,
        error: failure.message,
        attempts: target.attempts,
        jobId,
        metadata: { reason: 'job_attempts_exhausted' },
      });
    }
  }

  /** The delivery's dead letter and its `outbound.delivery_dead_lettered` audit entry, in one statement. */
  private deadLetter(
    target: DeliveryTarget,
    letter: { category: string; error: string; attempts: number; jobId: string | null; metadata: object },
  ): Promise<void> {
    return this.deliveries.deadLetter(
      {
        id: uuidv7(),
        deliveryId: target.id,
        endpointId: target.endpoint_id,
        eventId: target.event_id,
        correlationId: target.correlation_id,
        category: letter.category,
        error: letter.error,
        attempts: letter.attempts,
        jobId: letter.jobId,
      },
      [
        this.entry(target, AuditAction.OutboundDeliveryDeadLettered, 'failure', {
          deliveryId: target.id,
          endpointId: target.endpoint_id,
          category: letter.category,
          attempts: letter.attempts,
          ...letter.metadata,
        }),
      ],
    );
  }

  /** Writes the success counters still buffered (they are otherwise written a few times a second). */
  async flushStatistics(): Promise<void> {
    await this.stats.flush().catch(() => undefined);
  }

  private entry(
    target: DeliveryTarget,
    action: string,
    outcome: AuditEntry['outcome'],
    metadata: Record<string, unknown>,
  ): AuditEntry {
    return {
      action,
      outcome,
      provider: 'outbound',
      eventId: target.event_id,
      correlationId: target.correlation_id,
      metadata,
    };
  }
}
