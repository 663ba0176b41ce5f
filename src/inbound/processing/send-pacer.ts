import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../platform/config/app-config';
import { Gcra } from '../../platform/redis/gcra';
import { RedisConnections } from '../../platform/redis/redis-connections';
import { RedisClient } from '../../platform/redis/redis-connection';

/** A send slot of an account: when it is (epoch ms, Redis's clock) and how long until then (<= 0: send now). */
export interface SendSlot {
  slotAt: number;
  waitMs: number;
}

/**
 * A parked reply wakes this long before its slot, and waits out the rest in the worker: a job that BullMQ
 * promotes or a worker picks up a little late still sends in its own slot. Short, because the reply waits
 * as `sending`: a worker killed meanwhile leaves it `unknown` (never resent), although nothing went out.
 */
export const SEND_WAKE_EARLY_MS = 50;

/**
 * Paces replies per provider account across all worker processes (the Send API allows about
 * SEND_RATE_PER_SECOND messages per second per account and throttles beyond it). Two schedules at the same
 * rate: the account's schedule gives each reply a slot ahead of time, so a backlog is parked and
 * spread out; the gate is passed right before sending, for a slot at most a moment ahead. A reply that
 * overslept its slot (workers starved, a backlog draining) goes only when the gate has room, however many
 * processes wake at once, so no second holds more than SEND_RATE_PER_SECOND + SEND_BURST sends; and the
 * gate is kept busy by whatever is due, so slots left unused by late replies do not cost throughput.
 */
@Injectable()
export class SendPacer {
  private readonly redis: RedisClient;

  constructor(
    private readonly config: AppConfig,
    private readonly gcra: Gcra,
    redis: RedisConnections,
  ) {
    this.redis = redis.commands;
  }

  /** Reserves the account's next send slot in its schedule. */
  async reserve(provider: string, accountId: string): Promise<SendSlot> {
    const { ratePerSecond, burst } = this.config.sendPacing;
    const { slotAt, now } = await this.gcra.reserve({
      key: this.key(provider, accountId),
      penaltyKey: this.penaltyKey(provider, accountId),
      intervalMs: 1000 / ratePerSecond,
      burst,
    });
    return { slotAt, waitMs: slotAt - now };
  }

  /**
   * The gate, right before a send: a slot at most `maxWaitMs` ahead (taken), or none (`reserved: false`) and
   * the caller takes a new slot in the schedule. Its burst is one less than the schedule's: what the gate
   * admits in a second stays two below the limit, a margin for the time between the gate and the Send API.
   */
  async admit(provider: string, accountId: string, maxWaitMs: number): Promise<SendSlot & { reserved: boolean }> {
    const { ratePerSecond, burst } = this.config.sendPacing;
    const { slotAt, now, reserved } = await this.gcra.reserve({
      key: `${this.key(provider, accountId)}:gate`,
      penaltyKey: this.penaltyKey(provider, accountId),
      intervalMs: 1000 / ratePerSecond,
      burst: Math.max(1, burst - 1),
      maxWaitMs,
    });
    return { slotAt, waitMs: slotAt - now, reserved };
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
