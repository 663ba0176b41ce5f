import { Injectable } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
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

/** Waits for a send slot shorter than this are slept through in the worker; longer ones park the job. */
export const PACING_SLEEP_LIMIT_MS = 250;

/**
 * Parks a send whose slot is further ahead than PACING_SLEEP_LIMIT_MS: records what it needs and throws (the
 * job is delayed until `wakeAt`, without using an attempt). `slotAt`: the slot it keeps.
 */
export type ParkSend = (slotAt: number, wakeAt: number) => Promise<never>;

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

  /**
   * Returns when a send of the account may go: in its slot (`heldSlotAt`, one an earlier run reserved, or a new
   * one), through the gate last, so nothing slow comes between the gate and the Send API. A slot too far ahead
   * is handed to `park`, which throws. Slots are on Redis's clock; a skew with this host's clock only moves
   * when the gate is asked.
   */
  async takeTurn(provider: string, accountId: string, heldSlotAt: number | null, park: ParkSend): Promise<void> {
    let slotAt = heldSlotAt ?? (await this.reserve(provider, accountId)).slotAt;
    for (;;) {
      const waitMs = slotAt - Date.now();
      if (waitMs > PACING_SLEEP_LIMIT_MS) await park(slotAt, Date.now() + waitMs - SEND_WAKE_EARLY_MS);
      // Near its slot, the gate alone decides: waiting for the slot first and then for the gate would hold the
      // reply `sending` twice as long (a kill meanwhile leaves it `unknown`).
      const gate = await this.admit(provider, accountId, PACING_SLEEP_LIMIT_MS);
      if (gate.reserved) {
        if (gate.waitMs > 0) await sleep(gate.waitMs);
        return;
      }
      slotAt = (await this.reserve(provider, accountId)).slotAt;
    }
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
