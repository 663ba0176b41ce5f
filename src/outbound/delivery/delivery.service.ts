import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../platform/config/app-config';
import { ClassifiedFailure } from '../../platform/failure';
import { inSpan } from '../../platform/tracing/tracing';
import { DeliveryAdmission, Later } from './delivery-admission';
import { DeliveryAttempt, PreparedAttempt } from './delivery-attempt';
import { DeliveryMetrics } from './delivery-metrics';
import { dueIn } from './delivery-outcome';
import { DeliveryOutcomes } from './delivery-outcomes';
import { DeliveryDispatcher } from './delivery.dispatcher';
import { DeliveryRepository, DeliveryTarget } from './delivery.repository';

/** What the processor must do with the job after one run. */
export type DeliveryStep =
  | { kind: 'done'; outcome: 'delivered' | 'skipped' }
  | { kind: 'dead-lettered' }
  /** Come back later: the attempt budget is untouched unless an attempt was made. */
  | Later;

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

const SKIPPED: DeliveryStep = { kind: 'done', outcome: 'skipped' };
const DELIVERED: DeliveryStep = { kind: 'done', outcome: 'delivered' };

/** The step, once its success write (if any) is committed. */
async function committed(run: SlotRun): Promise<DeliveryStep> {
  if (run.recorded) await run.recorded;
  return run.step;
}

/**
 * One run of a delivery job, in three parts: admission (DeliveryAdmission: slots, the endpoint's cap, its
 * rate limit, busy pacing), one signed attempt (DeliveryAttempt) and its consequences (DeliveryOutcomes:
 * records, breaker, retry schedule, dead letter). Never throws for a delivery failure.
 */
@Injectable()
export class DeliveryService {
  constructor(
    private readonly config: AppConfig,
    private readonly deliveries: DeliveryRepository,
    private readonly dispatcher: DeliveryDispatcher,
    private readonly admission: DeliveryAdmission,
    private readonly attempt: DeliveryAttempt,
    private readonly outcomes: DeliveryOutcomes,
    private readonly metrics: DeliveryMetrics,
  ) {}

  /** One delivery's job. */
  async run(run: DeliveryRun): Promise<DeliveryStep> {
    const target = await this.deliveries.target(run.deliveryId);
    if (!target || target.status !== 'pending') return SKIPPED;
    return committed(await this.admission.inSlot(target.priority, () => this.deliver(target, run)));
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
          ...queued(target),
          delayMs: dueIn(this.config.outbound.retryScheduleMs, target, now),
        })),
      );
      outcome.handedOff = targets.length;
      return outcome;
    }
    const settled = await Promise.allSettled(
      targets.map(async (target) => {
        const hold = this.admission.holdEndpoint(target);
        const held = typeof hold === 'boolean' ? hold : await hold;
        const step = await committed(
          await this.admission.inSlot(target.priority, () =>
            this.deliver(target, { deliveryId: target.id, jobId }, held),
          ),
        );
        if (step.kind === 'later') {
          await this.dispatcher.enqueue([
            { ...queued(target), delayMs: step.delayMs, slotAt: step.slotAt, busy: step.busy },
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

  /** `held`: the endpoint's concurrency was taken already (holdEndpoint). */
  private async deliver(target: DeliveryTarget, run: DeliveryRun, held = false): Promise<SlotRun> {
    if (!target.url || target.endpointStatus !== 'active') {
      if (held) this.admission.release(target.endpointId);
      await this.outcomes.notAttempted(target, target.url ? 'endpoint_disabled' : 'endpoint_deleted');
      return { step: SKIPPED };
    }
    let prepared: PreparedAttempt | undefined;
    try {
      prepared = await this.attempt.prepare(target);
    } finally {
      if (!prepared && held) this.admission.release(target.endpointId);
    }
    if (!prepared) {
      // Deleted since its target row was read.
      await this.outcomes.notAttempted(target, 'endpoint_deleted');
      return { step: SKIPPED };
    }
    const entry = this.admission.enter(target, run.slotAt, run.busy, held);
    const later = entry instanceof Promise ? await entry : entry;
    if (later) return { step: later };
    try {
      const result = await inSpan(
        'outbound delivery',
        target.traceParent,
        () => ({
          'switchboard.delivery.id': target.id,
          'switchboard.endpoint.id': target.endpointId,
          'switchboard.event.type': target.eventType,
        }),
        () => this.attempt.make(target, prepared, target.timeoutMs ?? this.config.outbound.timeoutMs),
      );
      this.admission.observe(target.endpointId, result.record.durationMs);
      this.metrics.attempted(target.endpointId, result.record.durationMs, result.failure?.category);
      if (!result.failure) return { step: DELIVERED, recorded: this.outcomes.succeeded(result.record) };
      return { step: await this.outcomes.failed(target, result.record, result.failure, run.jobId) };
    } finally {
      this.admission.release(target.endpointId);
    }
  }

  /** The job failed every one of its attempts on a fault of ours: its pending deliveries are dead-lettered. */
  async abandon(deliveryIds: readonly string[], jobId: string | null, failure: ClassifiedFailure): Promise<void> {
    await this.outcomes.abandoned(await this.deliveries.targetsOf(deliveryIds), jobId, failure);
  }

  /** Writes the success counters still buffered (they are otherwise written a few times a second). */
  async flushStatistics(): Promise<void> {
    await this.outcomes.flushStatistics();
  }
}

function queued(target: DeliveryTarget): { id: string; requeues: number; priority: number } {
  return { id: target.id, requeues: target.requeues, priority: target.priority };
}
