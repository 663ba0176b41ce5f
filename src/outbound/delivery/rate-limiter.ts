import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import { AppConfig } from '../../platform/config/app-config';
import { redisConnection } from '../../platform/redis/redis-connection';

/**
 * GCRA without burst, on Redis TIME so every process shares one clock. The next free slot is reserved
 * even when it lies in the future: a waiting job sleeps until its own slot instead of polling with
 * every other waiting job. A job that comes back within one interval of its slot holds it.
 * Returns {slotAt, now}; slotAt <= now means go.
 */
const RESERVE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local held = tonumber(ARGV[2])
if held > 0 and now - held <= interval then
  return {held, now}
end
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local slot = math.max(tat, now)
redis.call('SET', KEYS[1], slot + interval, 'PX', math.ceil(slot + interval - now) + 60000)
return {math.floor(slot), now}
`;

export type RateDecision = { verdict: 'go' } | { verdict: 'wait'; slotAt: number; waitMs: number };

type ReserveCommand = (key: string, interval: number, held: number) => Promise<[number, number]>;

/** Per-endpoint deliveries-per-second limit, held across every worker process. */
@Injectable()
export class RateLimiter implements OnApplicationShutdown {
  private readonly redis: Redis;
  private readonly prefix: string;

  constructor(config: AppConfig) {
    this.redis = new Redis({ ...redisConnection(config, { failFast: false }), lazyConnect: true });
    this.redis.on('error', () => undefined);
    this.redis.defineCommand('switchboardReserveSlot', { numberOfKeys: 1, lua: RESERVE });
    this.prefix = `${config.queuePrefix}:outbound:rate`;
  }

  /** `heldSlotAt`: the slot this job reserved before it was delayed. */
  async reserve(endpointId: string, perSecond: number, heldSlotAt?: number): Promise<RateDecision> {
    const [slotAt, now] = await (
      this.redis as unknown as { switchboardReserveSlot: ReserveCommand }
    ).switchboardReserveSlot(`${this.prefix}:${endpointId}`, 1000 / perSecond, heldSlotAt ?? 0);
    return slotAt > now ? { verdict: 'wait', slotAt, waitMs: slotAt - now } : { verdict: 'go' };
  }

  /** Forgets reserved slots (an endpoint re-enabled or given a new limit starts afresh). */
  async reset(endpointId: string): Promise<void> {
    await this.redis.del(`${this.prefix}:${endpointId}`);
  }

  /** After the workers drained (beforeApplicationShutdown): deliveries in flight still need it. */
  async onApplicationShutdown(): Promise<void> {
    this.redis.disconnect();
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
