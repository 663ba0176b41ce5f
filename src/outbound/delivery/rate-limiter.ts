import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../platform/config/app-config';
import { GatedSchedule, gatedScheduleKeys, Gcra } from '../../platform/redis/gcra';
import { RedisConnections } from '../../platform/redis/redis-connections';

export type RateDecision = { verdict: 'go' } | { verdict: 'wait'; slotAt: number; waitMs: number };

/**
 * Per-endpoint deliveries-per-second limit, held across every worker process: a gated schedule
 * (Gcra.takeTurn) without burst. A job is given a slot ahead of time and parked until just before it; near
 * its slot the gate admits it, at most one per interval whatever else wakes then, so a backlog whose jobs
 * come back late (a busy worker, BullMQ's promotion) still drains at the endpoint's rate and no second
 * holds more than it.
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
   * Go (after a wait of at most GATE_HORIZON_MS here), or come back after `waitMs` with `slotAt`.
   * `heldSlotAt`: the slot this job was given before it was parked.
   */
  async reserve(endpointId: string, perSecond: number, heldSlotAt?: number): Promise<RateDecision> {
    const turn = await this.gcra.takeTurn(this.limits(endpointId, perSecond), heldSlotAt);
    return turn.go ? { verdict: 'go' } : { verdict: 'wait', slotAt: turn.slotAt, waitMs: turn.wakeInMs };
  }

  /** Forgets reserved slots (an endpoint re-enabled or given a new limit starts afresh). */
  async reset(endpointId: string): Promise<void> {
    await this.redis.commands.del(...gatedScheduleKeys(this.limits(endpointId, 1)));
  }

  /** At most `perSecond` go through the gate in any second: the contract's +1 is the margin for the way to the endpoint. */
  private limits(endpointId: string, perSecond: number): GatedSchedule {
    const key = `${this.prefix}:${endpointId}`;
    const intervalMs = 1000 / perSecond;
    return { schedule: { key, intervalMs }, gate: { key: `${key}:gate`, intervalMs, perSecond } };
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
