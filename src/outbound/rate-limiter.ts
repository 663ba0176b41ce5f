import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { Redis } from 'ioredis';
import { AppConfig } from '../config/app-config';
import { redisConnection } from '../queue/redis-connection';

/**
 * One atomic step per delivery, shared by every process through Redis (clock: Redis TIME):
 * 1. concurrency: a sorted set of leases (score = expiry, so a crashed worker's lease lapses);
 * 2. rate: GCRA without burst. The next free slot is reserved even when it lies in the future, so a
 *    waiting job sleeps until its own slot instead of polling with every other waiting job.
 * Returns {verdict, slotAt, now}: 0 = go (lease taken), 1 = endpoint busy, 2 = wait until slotAt.
 */
const ADMIT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local heldSlot = tonumber(ARGV[2])
local maxc = tonumber(ARGV[3])
local lease = tonumber(ARGV[5])
if maxc > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
  if redis.call('ZCARD', KEYS[2]) >= maxc then
    return {1, 0, now}
  end
end
if interval > 0 and not (heldSlot > 0 and now - heldSlot <= interval) then
  local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
  local slot = math.max(tat, now)
  redis.call('SET', KEYS[1], slot + interval, 'PX', math.ceil(slot + interval - now) + 60000)
  if slot > now then
    return {2, slot, now}
  end
end
if maxc > 0 then
  redis.call('ZADD', KEYS[2], now + lease, ARGV[4])
  redis.call('PEXPIRE', KEYS[2], lease + 60000)
end
return {0, 0, now}
`;

export type Admission =
  | { verdict: 'go'; release: () => Promise<void> }
  | { verdict: 'busy' }
  | { verdict: 'wait'; slotAt: number; waitMs: number };

export interface AdmissionRequest {
  endpointId: string;
  ratePerSecond: number | null;
  maxConcurrency: number;
  /** Unique per run of a job: the lease's name. */
  leaseId: string;
  leaseMs: number;
  /** A slot this job reserved earlier and was delayed to. */
  heldSlotAt?: number;
}

type AdmitCommand = (keys: [string, string], ...args: (string | number)[]) => Promise<[number, number, number]>;

/** Per-endpoint rate limit and concurrency cap across all worker processes. */
@Injectable()
export class RateLimiter implements OnModuleDestroy {
  private readonly redis: Redis;
  private readonly prefix: string;

  constructor(config: AppConfig) {
    this.redis = new Redis({ ...redisConnection(config, { failFast: false }), lazyConnect: true });
    this.redis.on('error', () => undefined);
    this.redis.defineCommand('switchboardAdmit', { numberOfKeys: 2, lua: ADMIT });
    this.prefix = `${config.queuePrefix}:outbound`;
  }

  async admit(request: AdmissionRequest): Promise<Admission> {
    const interval = request.ratePerSecond ? 1000 / request.ratePerSecond : 0;
    const inflightKey = `${this.prefix}:{${request.endpointId}}:inflight`;
    const [verdict, slotAt, now] = await (this.redis as unknown as { switchboardAdmit: AdmitCommand }).switchboardAdmit(
      [`${this.prefix}:{${request.endpointId}}:rate`, inflightKey],
      interval,
      request.heldSlotAt ?? 0,
      request.maxConcurrency,
      request.leaseId,
      request.leaseMs,
    );
    if (verdict === 1) return { verdict: 'busy' };
    if (verdict === 2) return { verdict: 'wait', slotAt, waitMs: slotAt - now };
    return {
      verdict: 'go',
      release: async () => {
        await this.redis.zrem(inflightKey, request.leaseId).catch(() => undefined);
      },
    };
  }

  async onModuleDestroy(): Promise<void> {
    this.redis.disconnect();
  }
}
