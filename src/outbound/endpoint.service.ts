import { Injectable } from '@nestjs/common';
import { isUUID } from 'class-validator';
import { AuditAction, AuditEntry } from '../audit/audit-actions';
import { Actor } from '../platform/auth/api-key';
import { attemptResponseIn, DataCipher, sealedIn } from '../platform/crypto/data-cipher';
import { uuidv7 } from '../platform/crypto/ids';
import { AppConfig } from '../platform/config/app-config';
import { DeliveryDispatcher } from './delivery/delivery.dispatcher';
import { AttemptRow, DeliveryRepository, RetryFilter } from './delivery/delivery.repository';
import { DeliveryRetryOperation } from './delivery/delivery-retry.operation';
import { OperationRecord } from '../platform/operations/operation-record';
import { Operations } from '../platform/operations/operations.service';
import {
  AttemptDto,
  AttemptPageDto,
  AttemptResponseDto,
  CreatedEndpointDto,
  CreateEndpointDto,
  EndpointDto,
  EndpointPageDto,
  RotatedSecretDto,
  UpdateEndpointDto,
} from './endpoints/endpoint.dto';
import { EndpointChanges, EndpointRepository, EndpointRow } from './endpoints/endpoint.repository';
import { generateEndpointSecret, MAX_PREVIOUS_SECRETS } from './endpoints/endpoint-secret';
import { validateCustomHeaders } from './endpoints/custom-headers';
import { EndpointError } from './endpoints/endpoint.errors';
import { SubscriptionCheck } from './endpoints/subscription-check';
import { RateLimiter } from './delivery/rate-limiter';

/** A bulk retry's selection; `to` is capped at the start (deliveries created later are not retried with them). */
export interface BulkRetry {
  endpointId?: string;
  statuses: Array<'failed' | 'succeeded'>;
  eventType?: string;
  from?: Date;
  to?: Date;
}

function retryFilter(filter: BulkRetry, startedAt: Date): RetryFilter {
  const to = filter.to && filter.to < startedAt ? filter.to : startedAt;
  return {
    endpointId: filter.endpointId,
    statuses: filter.statuses,
    eventType: filter.eventType,
    from: filter.from?.toISOString(),
    to: to.toISOString(),
  };
}

/** Endpoint management for ops: CRUD, secrets (returned once, stored sealed), enable/disable, attempts, replay. */
@Injectable()
export class EndpointService {
  constructor(
    private readonly config: AppConfig,
    private readonly cipher: DataCipher,
    private readonly endpoints: EndpointRepository,
    private readonly deliveries: DeliveryRepository,
    private readonly dispatcher: DeliveryDispatcher,
    private readonly limiter: RateLimiter,
    private readonly subscriptions: SubscriptionCheck,
    private readonly operations: Operations,
    private readonly retryOperation: DeliveryRetryOperation,
  ) {}

  async create(input: CreateEndpointDto, actor: Actor): Promise<CreatedEndpointDto> {
    const id = uuidv7();
    const secret = generateEndpointSecret();
    const row = await this.endpoints.create(
      {
        id,
        url: input.url,
        description: input.description ?? null,
        eventTypes: [...new Set(input.events)],
        tenantId: input.tenantId ?? null,
        secretSealed: this.cipher.encrypt(secret, sealedIn('outbound_endpoints.secret', id)),
        headersSealed: this.sealHeaders(id, input.headers),
        rateLimitPerSecond: input.rateLimitPerSecond ?? null,
        maxConcurrency: input.maxConcurrency ?? null,
        timeoutMs: input.timeoutMs ?? null,
      },
      [this.entry(AuditAction.OutboundEndpointCreated, actor, id, { events: input.events })],
    );
    this.subscriptions.forget();
    return { ...this.view(row), secret };
  }

  async list(cursor: string | undefined, limit = 50, status?: string): Promise<EndpointPageDto> {
    const rows = await this.endpoints.list(cursor && isUUID(cursor) ? cursor : null, limit, status);
    return {
      items: rows.map((row) => this.view(row)),
      nextCursor: rows.length === limit ? rows[rows.length - 1].id : null,
    };
  }

  async get(id: string): Promise<EndpointDto> {
    return this.view(this.found(await this.endpoints.find(id)));
  }

  async update(id: string, input: UpdateEndpointDto, actor: Actor): Promise<EndpointDto> {
    const changes: EndpointChanges = {
      url: input.url,
      description: input.description,
      eventTypes: input.events ? [...new Set(input.events)] : undefined,
      tenantId: input.tenantId,
      headersSealed: input.headers ? this.sealHeaders(id, input.headers) : undefined,
      rateLimitPerSecond: input.rateLimitPerSecond,
      maxConcurrency: input.maxConcurrency,
      timeoutMs: input.timeoutMs,
    };
    const fields = Object.keys(input);
    if (input.rateLimitPerSecond !== undefined) await this.limiter.reset(id);
    const updated = await this.endpoints.update(id, changes, [
      this.entry(AuditAction.OutboundEndpointUpdated, actor, id, { fields }),
    ]);
    this.subscriptions.forget();
    return this.view(this.found(updated));
  }

  async remove(id: string, actor: Actor): Promise<void> {
    const deleted = await this.endpoints.delete(id, [this.entry(AuditAction.OutboundEndpointDeleted, actor, id, {})]);
    if (!deleted) throw new EndpointError('not_found', 'endpoint not found');
  }

  async disable(id: string, reason: string | undefined, actor: Actor): Promise<EndpointDto> {
    const why = reason?.trim() || 'disabled by an operator';
    return this.view(
      this.found(
        await this.endpoints.setDisabled(id, why, [
          this.entry(AuditAction.OutboundEndpointDisabled, actor, id, { reason: why }),
        ]),
      ),
    );
  }

  async enable(id: string, actor: Actor): Promise<EndpointDto> {
    // Slots reserved by deliveries that waited while it was disabled must not delay new ones.
    await this.limiter.reset(id);
    const enabled = await this.endpoints.enable(id, [this.entry(AuditAction.OutboundEndpointEnabled, actor, id, {})]);
    this.subscriptions.forget();
    return this.view(this.found(enabled));
  }

  async rotateSecret(id: string, actor: Actor): Promise<RotatedSecretDto> {
    const secret = generateEndpointSecret();
    const until = new Date(Date.now() + this.config.outbound.rotationGraceMs);
    this.found(
      await this.endpoints.rotateSecret(
        id,
        this.cipher.encrypt(secret, sealedIn('outbound_endpoints.secret', id)),
        until,
        MAX_PREVIOUS_SECRETS,
        [this.entry(AuditAction.OutboundSecretRotated, actor, id, { previousSecretExpiresAt: until.toISOString() })],
      ),
    );
    return { secret, previousSecretExpiresAt: until.toISOString() };
  }

  async attempts(id: string, cursor: string | undefined, limit = 50): Promise<AttemptPageDto> {
    await this.get(id);
    const rows = await this.deliveries.attempts(id, cursor ?? null, limit);
    return {
      items: rows.map((row) => attemptView(row)),
      nextCursor: rows.length === limit ? rows[rows.length - 1].id : null,
    };
  }

  /** A failed attempt's kept answer, opened for an operator; the reason is in the audit entry. */
  async attemptResponse(id: string, attemptId: string, reason: string, actor: Actor): Promise<AttemptResponseDto> {
    if (!/^\d{1,18}$/.test(attemptId)) throw new EndpointError('not_found', 'attempt not found');
    const row = await this.deliveries.attemptResponse(id, attemptId, [
      this.entry(AuditAction.OutboundAttemptResponseViewed, actor, id, { attemptId, reason: reason.trim() }),
    ]);
    if (!row) throw new EndpointError('not_found', 'attempt not found');
    if (!row.responseSealed)
      throw new EndpointError('not_found', 'this attempt kept no answer (a success, or an empty one)');
    const answer = this.cipher.decrypt(row.responseSealed, attemptResponseIn(row.deliveryId, row.attempt));
    return {
      id: row.id,
      responseCode: row.responseCode,
      responseBytes: row.responseBytes,
      body: answer.toString('utf8'),
      bodyBase64: answer.toString('base64'),
    };
  }

  /** Queues the endpoint's failed deliveries created in [since, until) again: a durable operation. */
  async recover(id: string, since: Date, until: Date | undefined, actor: Actor): Promise<OperationRecord> {
    await this.get(id);
    return this.retryInBulk({ endpointId: id, statuses: ['failed'], from: since, to: until }, actor);
  }

  /** What a bulk retry would take: deliveries matching now. */
  countRetryable(filter: BulkRetry): Promise<number> {
    return this.retryOperation.count(retryFilter(filter, new Date()));
  }

  /** Starts a bulk retry of deliveries by filter (a durable operation run by a worker) and returns at once. */
  retryInBulk(filter: BulkRetry, actor: Actor): Promise<OperationRecord> {
    return this.operations.start(this.retryOperation, retryFilter(filter, new Date()), actor.name);
  }

  async retryDelivery(id: string, deliveryId: string, actor: Actor): Promise<void> {
    if (!/^\d{1,18}$/.test(deliveryId)) throw new EndpointError('not_found', 'delivery not found');
    const delivery = await this.deliveries.requeueOne(id, deliveryId);
    if (!delivery) throw new EndpointError('not_found', 'delivery not found');
    if ('pending' in delivery)
      throw new EndpointError('conflict', 'this delivery is still pending: it is on the queue already');
    await this.dispatcher.enqueue([delivery]);
    await this.audit(AuditAction.OutboundDeliveriesRequeued, actor, id, { deliveryId, count: 1 });
  }

  private async audit(action: string, actor: Actor, endpointId: string, metadata: Record<string, unknown>) {
    await this.endpoints.appendAudit([this.entry(action, actor, endpointId, metadata)]);
  }

  /** Throws CustomHeaderError for a header undici would refuse (or one of ours). */
  private sealHeaders(id: string, headers: Record<string, unknown> | undefined): Buffer | null {
    if (!headers || Object.keys(headers).length === 0) return null;
    return this.cipher.encryptJson(validateCustomHeaders(headers), sealedIn('outbound_endpoints.headers', id));
  }

  private view(row: EndpointRow): EndpointDto {
    const iso = (value: Date | null) => (value ? new Date(value).toISOString() : null);
    const now = Date.now();
    const signingUntil = row.previousSecretsUntil
      .filter((until) => until.getTime() > now)
      .sort((a, b) => b.getTime() - a.getTime())
      .map((until) => until.toISOString());
    return {
      id: row.id,
      url: row.url,
      description: row.description,
      events: row.eventTypes,
      tenantId: row.tenantId,
      status: row.status,
      disabledReason: row.disabledReason,
      disabledAt: iso(row.disabledAt),
      rateLimitPerSecond: row.rateLimitPerSecond,
      maxConcurrency: row.maxConcurrency,
      timeoutMs: row.timeoutMs,
      headers: row.headersSealed
        ? this.cipher.decryptJson<Record<string, string>>(
            row.headersSealed,
            sealedIn('outbound_endpoints.headers', row.id),
          )
        : {},
      previousSecretExpiresAt: signingUntil[0] ?? null,
      previousSecretsExpireAt: signingUntil,
      stats: {
        deliveries: Number(row.deliveriesTotal),
        failures: Number(row.failuresTotal),
        consecutiveFailures: row.consecutiveFailures,
        lastSuccessAt: iso(row.lastSuccessAt),
        lastFailureAt: iso(row.lastFailureAt),
      },
      createdAt: new Date(row.createdAt).toISOString(),
      updatedAt: new Date(row.updatedAt).toISOString(),
    };
  }

  private found(row: EndpointRow | undefined): EndpointRow {
    if (!row) throw new EndpointError('not_found', 'endpoint not found');
    return row;
  }

  private entry(action: string, actor: Actor, endpointId: string, metadata: Record<string, unknown>): AuditEntry {
    return {
      action,
      outcome: 'success',
      provider: 'outbound',
      actor: actor.name,
      metadata: { endpointId, ...metadata },
    };
  }
}

function attemptView(row: AttemptRow): AttemptDto {
  return {
    id: row.id,
    deliveryId: row.deliveryId,
    eventId: row.eventId,
    attempt: row.attempt,
    status: row.status,
    category: row.category,
    responseCode: row.responseCode,
    durationMs: row.durationMs,
    responseBytes: row.responseBytes,
    responseKept: row.responseKept,
    createdAt: new Date(row.createdAt).toISOString(),
  };
}
