import { Injectable } from '@nestjs/common';
import { Redis } from 'ioredis';
import { AppConfig } from '../../platform/config/app-config';
import { Gcra } from '../../platform/redis/gcra';
import { RedisConnections } from '../../platform/redis/redis-connections';

/**
 * Paces replies per provider account across all worker processes (the Send API allows about
 * SEND_RATE_PER_SECOND messages per second per account and throttles beyond it).
 */
@Injectable()
export class SendPacer {
  private readonly redis: Redis;

  constructor(
    private readonly config: AppConfig,
    private readonly gcra: Gcra,
    redis: RedisConnections,
  ) {
    this.redis = redis.commands;
  }

  /** Reserves the account's next send slot; resolves to the milliseconds to wait before sending. */
  async reserve(provider: string, accountId: string): Promise<number> {
    const { ratePerSecond, burst } = this.config.sendPacing;
    const { slotAt, now } = await this.gcra.reserve({
      key: this.key(provider, accountId),
      penaltyKey: this.penaltyKey(provider, accountId),
      intervalMs: 1000 / ratePerSecond,
      burst,
    });
    return slotAt - now;
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
