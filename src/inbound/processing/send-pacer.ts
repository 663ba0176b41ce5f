import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../platform/config/app-config';
import { Gcra, GatedSchedule } from '../../platform/redis/gcra';
import { RedisConnections } from '../../platform/redis/redis-connections';
import { RedisClient } from '../../platform/redis/redis-connection';

/** A send slot of an account: when it is (epoch ms, Redis's clock) and how long until then (<= 0: send now). */
export interface SendSlot {
  slotAt: number;
  waitMs: number;
}

/**
 * Parks a send whose slot is further ahead than GATE_HORIZON_MS: records what it needs and throws (the
 * job is delayed until `wakeAt`, without using an attempt). `slotAt`: the slot it keeps.
 */
export type ParkSend = (slotAt: number, wakeAt: number) => Promise<never>;

/**
 * Paces replies per provider account across all worker processes (the Send API allows about
 * SEND_RATE_PER_SECOND messages per second per account and throttles beyond it), through a gated schedule
 * (Gcra.takeTurn): so no second holds more than SEND_RATE_PER_SECOND + SEND_BURST sends however many
 * processes wake at once, and slots left unused by late replies cost no throughput. The wait near a slot is
 * short on purpose: the reply waits as `sending`, and a worker killed meanwhile leaves it `unknown` (never
 * resent), although nothing went out.
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
    const { slotAt, now } = await this.gcra.reserve(this.limits(provider, accountId).schedule);
    return { slotAt, waitMs: slotAt - now };
  }

  /**
   * Returns when a send of the account may go: in its slot (`heldSlotAt`, one an earlier run reserved, or a new
   * one), through the gate last, so nothing slow comes between the gate and the Send API. A slot too far ahead
   * is handed to `park`, which throws.
   */
  async takeTurn(provider: string, accountId: string, heldSlotAt: number | null, park: ParkSend): Promise<void> {
    const turn = await this.gcra.takeTurn(this.limits(provider, accountId), heldSlotAt);
    if (!turn.go) await park(turn.slotAt, Date.now() + turn.wakeInMs);
  }

  /** Graph throttled this account: halve its rate for a while instead of burning retries. */
  async slowDown(provider: string, accountId: string): Promise<void> {
    await this.redis.set(this.penaltyKey(provider, accountId), '2', 'PX', this.config.sendPacing.throttlePenaltyMs);
  }

  /**
   * The account's schedule and its gate. The gate's burst is one less than the schedule's, and at most one less
   * than the limit (SEND_RATE_PER_SECOND + SEND_BURST) goes through it in any second: a margin for the time
   * between the gate and the Send API.
   */
  private limits(provider: string, accountId: string): GatedSchedule {
    const { ratePerSecond, burst } = this.config.sendPacing;
    const key = this.key(provider, accountId);
    const common = { penaltyKey: this.penaltyKey(provider, accountId), intervalMs: 1000 / ratePerSecond };
    const perSecond = Math.max(1, Math.floor(ratePerSecond + burst) - 1);
    return {
      schedule: { key, burst, ...common },
      gate: { key: `${key}:gate`, burst: Math.max(1, burst - 1), perSecond, ...common },
    };
  }

  private key(provider: string, accountId: string): string {
    return `${this.config.queuePrefix}:pace:${provider}:${accountId}`;
  }

  private penaltyKey(provider: string, accountId: string): string {
    return `${this.key(provider, accountId)}:penalty`;
  }
}
