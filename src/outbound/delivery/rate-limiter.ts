import { Injectable } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppConfig } from '../../platform/config/app-config';
import { Gcra } from '../../platform/redis/gcra';
import { RedisConnections } from '../../platform/redis/redis-connections';

export type RateDecision = { verdict: 'go' } | { verdict: 'wait'; slotAt: number; waitMs: number };

/**
 * Per-endpoint deliveries-per-second limit, held across every worker process, in two parts at the same rate
 * (GCRA without burst), like send pacing: the schedule reserves the next free slot even when it lies in the
 * future (a job sleeps or is parked until its own slot instead of polling), and the gate is passed right
 * before the request. A job that comes back late for its slot (a busy machine, a backlog) goes when the gate
 * has room instead of in its stale slot, or takes a new slot in the schedule; so no second holds more than
 * the limit (+1 for the time between the gate and the request), and late jobs do not cost the endpoint rate.
 */
@Injectable()
export class RateLimiter {
  private readonly prefix: string;

  constructor(
    config: AppConfig,
    private readonly gcra: Gcra,
    private readonly redis: RedisConnections,
  ) {
    this.prefix = `${config.queuePrefix}:outbound:rate`;
  }

  /**
   * `heldSlotAt`: the slot this job reserved before it was delayed. A slot at most `sleepLimitMs` ahead is
   * waited for here; a later one is the caller's to wait for (`wait`).
   */
  async reserve(endpointId: string, perSecond: number, heldSlotAt?: number, sleepLimitMs = 0): Promise<RateDecision> {
    const intervalMs = 1000 / perSecond;
    let slotAt = heldSlotAt;
    for (;;) {
      let waitMs: number;
      if (slotAt === undefined) {
        const reserved = await this.gcra.reserve({ key: `${this.prefix}:${endpointId}`, intervalMs });
        slotAt = reserved.slotAt;
        waitMs = reserved.slotAt - reserved.now;
      } else {
        // A held slot is on Redis's clock; a skew with this host's only moves when the gate is asked.
        waitMs = slotAt - Date.now();
      }
      if (waitMs > sleepLimitMs) return { verdict: 'wait', slotAt, waitMs };
      if (waitMs > 0) await sleep(waitMs);
      const gate = await this.gcra.reserve({
        key: `${this.prefix}:${endpointId}:gate`,
        intervalMs,
        maxWaitMs: sleepLimitMs,
      });
      if (gate.reserved) {
        if (gate.slotAt > gate.now) await sleep(gate.slotAt - gate.now);
        return { verdict: 'go' };
      }
      slotAt = undefined;
    }
  }

  /** Forgets reserved slots (an endpoint re-enabled or given a new limit starts afresh). */
  async reset(endpointId: string): Promise<void> {
    await this.redis.commands.del(`${this.prefix}:${endpointId}`, `${this.prefix}:${endpointId}:gate`);
  }
}

/**
 * Deliveries in flight per endpoint in this process. A slow or dead endpoint can hold at most its cap
 * of this worker's slots; its other jobs wait in the delayed set, not in a worker slot.
 */
export class ConcurrencyGate {
  private readonly inFlight = new Map<string, number>();
  /** Callers waiting for a slot, first come first served; a released slot passes straight to the first. */
  private readonly waiting = new Map<string, (() => void)[]>();

  tryAcquire(endpointId: string, max: number): boolean {
    const current = this.inFlight.get(endpointId) ?? 0;
    if (current >= max) return false;
    this.inFlight.set(endpointId, current + 1);
    return true;
  }

  /** Waits up to `timeoutMs` for a slot: false when none came free in time (the caller holds nothing then). */
  acquire(endpointId: string, max: number, timeoutMs: number): Promise<boolean> {
    if (this.tryAcquire(endpointId, max)) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const queue = this.waiting.get(endpointId) ?? [];
      const grant = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        const index = queue.indexOf(grant);
        if (index >= 0) queue.splice(index, 1);
        if (queue.length === 0 && this.waiting.get(endpointId) === queue) this.waiting.delete(endpointId);
        resolve(false);
      }, timeoutMs);
      queue.push(grant);
      this.waiting.set(endpointId, queue);
    });
  }

  /** Deliveries to the endpoint in flight or waiting for a slot in this process. */
  backlog(endpointId: string): number {
    return (this.inFlight.get(endpointId) ?? 0) + (this.waiting.get(endpointId)?.length ?? 0);
  }

  release(endpointId: string): void {
    const queue = this.waiting.get(endpointId);
    const next = queue?.shift();
    if (queue?.length === 0) this.waiting.delete(endpointId);
    if (next) return next();
    const current = this.inFlight.get(endpointId) ?? 0;
    if (current <= 1) this.inFlight.delete(endpointId);
    else this.inFlight.set(endpointId, current - 1);
  }
}
