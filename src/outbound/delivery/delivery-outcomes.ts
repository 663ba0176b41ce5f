import { Injectable, Logger } from '@nestjs/common';
import { AuditAction, AuditEntry } from '../../audit/audit-actions';
import { AuditService } from '../../audit/audit.service';
import { AppConfig } from '../../platform/config/app-config';
import { uuidv7 } from '../../platform/crypto/ids';
import { ClassifiedFailure } from '../../platform/failure';
import { EndpointRepository } from '../endpoints/endpoint.repository';
import { EndpointStats } from '../endpoints/endpoint-stats';
import { AttemptFailure, isPermanent, nextAttemptDelay } from './delivery-outcome';
import { AttemptRecord, DeliveryRepository, DeliveryTarget } from './delivery.repository';
import {
  isOperationalEvent,
  OperationalEvents,
  OperationalEventType,
} from '../../platform/operational-events/operational-events';

/** After a failed attempt: retry after `delayMs`, or the delivery is dead-lettered. */
export type FailureStep = { kind: 'later'; delayMs: number } | { kind: 'dead-lettered' };

/**
 * What becomes of an attempt: the attempt row and the delivery's state, the endpoint's statistics and
 * circuit breaker, the retry schedule, the dead letter and its audit, and the operational events:
 * `switchboard.endpoint.disabled` when the breaker trips (one statement flips it: once per incident) and
 * `switchboard.delivery.exhausted` (at most one per endpoint a minute). A delivery of an operational event
 * raises none itself, so a failing subscriber of them cannot feed a loop.
 */
@Injectable()
export class DeliveryOutcomes {
  private readonly logger = new Logger(DeliveryOutcomes.name);

  constructor(
    private readonly config: AppConfig,
    private readonly deliveries: DeliveryRepository,
    private readonly endpoints: EndpointRepository,
    private readonly stats: EndpointStats,
    private readonly operationalEvents: OperationalEvents,
    private readonly audit: AuditService,
  ) {}

  /**
   * A success: its write joins a group commit and is not awaited here (the caller frees its slots first and
   * awaits `recorded` outside them); until then a failed write is not "unhandled".
   */
  succeeded(record: AttemptRecord): Promise<void> {
    const recorded = this.deliveries.recordSuccess(record);
    recorded.catch(() => undefined);
    this.stats.succeeded(record.endpointId);
    return recorded;
  }

  /** Nothing could be attempted (its endpoint is disabled or gone). */
  async notAttempted(target: DeliveryTarget, category: string): Promise<void> {
    await this.deliveries.closeUnattempted(target.id, category);
  }

  async failed(
    target: DeliveryTarget,
    record: AttemptRecord,
    failure: AttemptFailure,
    jobId: string | null,
  ): Promise<FailureStep> {
    const delayMs = isPermanent(failure.category)
      ? undefined
      : nextAttemptDelay(this.config.outbound.retryScheduleMs, record.attempt, failure);
    const final = delayMs === undefined;
    await this.deliveries.recordFailure(record, final);
    await this.stats.flush();
    const threshold = this.config.outbound.breakerThreshold;
    const verdict = await this.endpoints.recordFailure(
      target.endpointId,
      threshold,
      failure.category === 'gone' ? 'gone: the endpoint answered 410' : null,
      `circuit breaker: ${threshold} consecutive failures`,
    );
    if (verdict.disabledNow) await this.endpointDisabled(target, failure, verdict.consecutiveFailures);
    if (!final) return { kind: 'later', delayMs };

    this.logger.warn({
      msg: 'outbound delivery dead-lettered',
      deliveryId: target.id,
      endpointId: target.endpointId,
      eventId: target.eventId,
      correlationId: target.correlationId,
      category: failure.category,
      attempts: record.attempt,
    });
    await this.deadLetter(target, {
      category: failure.category,
      error: failure.summary,
      attempts: record.attempt,
      jobId,
      metadata: { responseCode: failure.responseCode },
    });
    if (!isOperationalEvent(target.eventType)) {
      await this.operationalEvents.raise(
        {
          type: OperationalEventType.DeliveryExhausted,
          data: {
            endpointId: target.endpointId,
            deliveryId: target.id,
            eventId: target.eventId,
            eventType: target.eventType,
            category: failure.category,
            attempts: record.attempt,
            responseCode: failure.responseCode ?? null,
          },
        },
        { key: `delivery.exhausted:${target.endpointId}`, forSeconds: 60, correlationId: target.correlationId },
      );
    }
    return { kind: 'dead-lettered' };
  }

  /**
   * A job failed every one of its attempts on something other than the subscriber (a fault of ours, not
   * Postgres being down: that waits): each of its deliveries still pending is closed as failed and
   * dead-lettered, so it is visible and can be replayed rather than left pending with no job.
   */
  async abandoned(targets: readonly DeliveryTarget[], jobId: string | null, failure: ClassifiedFailure): Promise<void> {
    for (const target of targets) {
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

  /** Writes the success counters still buffered (they are otherwise written a few times a second). */
  async flushStatistics(): Promise<void> {
    await this.stats.flush().catch(() => undefined);
  }

  /** Audit entry, then the `switchboard.endpoint.disabled` operational event to whoever subscribes to it. */
  private async endpointDisabled(target: DeliveryTarget, failure: AttemptFailure, consecutive: number): Promise<void> {
    const reason =
      failure.category === 'gone'
        ? 'gone: the endpoint answered 410'
        : `circuit breaker: ${this.config.outbound.breakerThreshold} consecutive failures`;
    this.logger.warn({ msg: 'outbound endpoint disabled', endpointId: target.endpointId, reason });
    await this.audit
      .record(
        this.entry(target, AuditAction.OutboundEndpointDisabled, 'info', {
          endpointId: target.endpointId,
          reason,
          category: failure.category,
          consecutiveFailures: consecutive,
        }),
      )
      .catch(() => undefined);
    if (isOperationalEvent(target.eventType)) return;
    await this.operationalEvents.raise(
      {
        type: OperationalEventType.EndpointDisabled,
        data: {
          endpointId: target.endpointId,
          reason,
          lastCategory: failure.category,
          consecutiveFailures: consecutive,
        },
      },
      // The statement that disabled it did so once: the delivery and attempt name this incident.
      {
        key: `endpoint.disabled:${target.endpointId}:${target.id}:${target.attempts + 1}`,
        forSeconds: 3600,
        correlationId: target.correlationId,
      },
    );
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
        endpointId: target.endpointId,
        eventId: target.eventId,
        correlationId: target.correlationId,
        category: letter.category,
        error: letter.error,
        attempts: letter.attempts,
        jobId: letter.jobId,
      },
      [
        this.entry(target, AuditAction.OutboundDeliveryDeadLettered, 'failure', {
          deliveryId: target.id,
          endpointId: target.endpointId,
          category: letter.category,
          attempts: letter.attempts,
          ...letter.metadata,
        }),
      ],
    );
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
      eventId: target.eventId,
      correlationId: target.correlationId,
      metadata,
    };
  }
}
