import { Injectable } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { AppConfig } from '../../platform/config/app-config';
import { DeliverySlots } from './delivery-slots';
import { DeliveryTarget } from './delivery.repository';
import { ConcurrencyGate, RateLimiter } from './rate-limiter';

/** Not now: the job comes back after `delayMs` (with the rate-limit slot it holds, or how often it found the endpoint busy). */
export interface Later {
  kind: 'later';
  delayMs: number;
  slotAt?: number;
  busy?: number;
}

/** An endpoint answering within this (its recent average) is waited for by a batch when it is at its cap. */
const FAST_ENDPOINT_MS = 100;
/** The longest a batch's delivery waits for such an endpoint before it is handed off after all. */
const ENDPOINT_WAIT_MS = 1000;

/**
 * Whether a delivery may be attempted now: this worker's delivery slots (by priority), the endpoint's
 * concurrency cap in this process, its deliveries-per-second limit across every process, and the pacing of
 * jobs that found the endpoint busy. Results that need no I/O are returned synchronously (hot path).
 */
@Injectable()
export class DeliveryAdmission {
  /** Recent latency per endpoint: how long a job waits when the endpoint's slots are all taken. */
  private readonly latency = new LRUCache<string, number>({ max: 10_000 });
  /** Per endpoint: the next free turn handed to a job parked because the endpoint was at its cap (epoch ms). */
  private readonly nextTurn = new LRUCache<string, number>({ max: 10_000 });
  private readonly gate = new ConcurrencyGate();
  private readonly slots: DeliverySlots;

  constructor(
    private readonly config: AppConfig,
    private readonly limiter: RateLimiter,
  ) {
    this.slots = new DeliverySlots(config.outbound.workerConcurrency);
  }

  /** Runs `work` in one of this worker's delivery slots, urgent deliveries first. */
  inSlot<T>(priority: number, work: () => Promise<T>): Promise<T> {
    return this.slots.run(priority, work);
  }

  /**
   * A batch's delivery to a fast endpoint that is at its concurrency cap waits (briefly) for one of its
   * slots rather than being handed off to a job of its own: a batch of one busy subscriber's deliveries
   * would otherwise cost a queue job per delivery. A slow or unknown endpoint is never waited for, so it
   * cannot hold the worker's batches (it is handed off as before). True when the slot is held; a promise
   * only when it has to wait for one.
   */
  holdEndpoint(target: DeliveryTarget): boolean | Promise<boolean> {
    const typical = this.latency.get(target.endpointId);
    if (!target.url || target.endpointStatus !== 'active' || typical === undefined || typical > FAST_ENDPOINT_MS) {
      return false;
    }
    const cap = this.cap(target);
    return this.gate.tryAcquire(target.endpointId, cap) || this.gate.acquire(target.endpointId, cap, ENDPOINT_WAIT_MS);
  }

  /**
   * Takes the endpoint's concurrency (unless `held` already) and its rate-limit slot. Undefined: go, and
   * `release` the endpoint afterwards. A Later: nothing is held. A promise only when the rate limiter is asked.
   */
  enter(target: DeliveryTarget, slotAt: number | undefined, busy: number | undefined, held: boolean) {
    const cap = this.cap(target);
    if (!held && !this.gate.tryAcquire(target.endpointId, cap)) {
      const times = (busy ?? 0) + 1;
      return { kind: 'later', delayMs: this.busyDelay(target.endpointId, times, cap), busy: times } satisfies Later;
    }
    if (!target.rateLimitPerSecond) return undefined;
    return this.limiter.reserve(target.endpointId, target.rateLimitPerSecond, slotAt).then(
      (rate): Later | undefined => {
        if (rate.verdict === 'go') return undefined;
        this.release(target.endpointId);
        return { kind: 'later', delayMs: rate.waitMs, slotAt: rate.slotAt };
      },
      (error: unknown) => {
        this.release(target.endpointId);
        throw error;
      },
    );
  }

  release(endpointId: string): void {
    this.gate.release(endpointId);
  }

  /** An attempt's duration: the endpoint's typical latency paces the jobs that find it busy. */
  observe(endpointId: string, durationMs: number): void {
    const previous = this.latency.get(endpointId);
    this.latency.set(endpointId, previous === undefined ? durationMs : previous * 0.8 + durationMs * 0.2);
  }

  private cap(target: DeliveryTarget): number {
    return target.maxConcurrency ?? this.config.outbound.endpointConcurrency;
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
    this.nextTurn.set(endpointId, Math.min(turn, now + 30_000));
    const backoff = typical * 2 ** Math.min(busy - 1, 4) * (0.5 + Math.random());
    return Math.round(Math.min(30_000, Math.max(backoff, turn - now)));
  }
}
