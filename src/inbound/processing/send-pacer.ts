import { Injectable } from '@nestjs/common';
import { Redis } from 'ioredis';
import { AppConfig } from '../../platform/config/app-config';
import { RedisConnections } from '../../platform/redis/redis-connections';

/*
 * GCRA reservation, atomically in Redis so every worker process shares one schedule per account.
 * Each call reserves the next send slot and returns how long to wait for it (0: send now). A
 * throttling penalty, while it lasts, stretches the interval between slots.
 */
const RESERVE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local penalty = tonumber(redis.call('GET', KEYS[2]) or '1')
interval = interval * penalty
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local slot = tat - (burst - 1) * interval
if slot < now then slot = now end
local nextTat = tat + interval
redis.call('SET', KEYS[1], tostring(nextTat), 'PX', math.ceil(nextTat - now) + 60000)
return math.floor(slot - now)
`;

/**
 * Paces replies per provider account across all worker processes (the Send API allows about
 * SEND_RATE_PER_SECOND messages per second per account and throttles beyond it).
 */
@Injectable()
export class SendPacer {
  private readonly redis: Redis;

  constructor(
    private readonly config: AppConfig,
    redis: RedisConnections,
  ) {
    this.redis = redis.commands;
  }

  /** Reserves the account's next send slot; resolves to the milliseconds to wait before sending. */
  async reserve(provider: string, accountId: string): Promise<number> {
    const { ratePerSecond, burst } = this.config.sendPacing;
    const wait = await this.redis.eval(
      RESERVE,
      2,
      this.key(provider, accountId),
      this.penaltyKey(provider, accountId),
      1000 / ratePerSecond,
      burst,
    );
    return Number(wait);
  }

  /** Graph throttled this account: halve its rate for a while instead of burning retries. */
  async slowDown(provider: string, accountId: string): Promise<void> {
    await this.redis.set(this.penaltyKey(provider, accountId), '2', 'PX', this.config.sendPacing.throttlePenaltyMs);
  }

  private key(provider: string, accountId: string): string {
    return `${this.config.queuePrefix}:pace:${provider}:${accountId}`;
  }

  private penaltyKey(provider: string, accountId: string): string {
    return `${this.key(provider, accountId)}:penalty`;
  }
}
