import { Injectable } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { RedisConnections } from './redis-connections';
import { RedisClient } from './redis-connection';

/*
 * GCRA reservation, atomically in Redis and on Redis TIME, so every process shares one schedule per key.
 * Each call reserves the next free slot, even one in the future (a waiting caller sleeps until its own slot
 * instead of polling with every other), and returns {slotAt, now, 1}: slotAt <= now means go. ARGV[2] is the
 * burst; with ARGV[3] = 1, KEYS[2] holds a throttling penalty that stretches the interval while it lasts.
 * With ARGV[4] >= 0, a slot further than that many ms ahead is not reserved: the answer is {slotAt, now, 0}.
 *
 * With ARGV[5] = n > 0 the key is a gate, and KEYS[3] lists when its last n callers went (newest first): a
 * caller goes only while fewer than n went in the last second, and is added. One whose slot is now is
 * counted at once; one with a later slot sleeps until it and comes back (ARGV[6] = 1) to be counted. While
 * the second is full the answer is {when it frees, now, 1}: come back then, with the slot kept.
 */
const RESERVE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local perSecond = tonumber(ARGV[5])
local function go(slot)
  if perSecond > 0 then
    if redis.call('LLEN', KEYS[3]) >= perSecond then
      local nth = tonumber(redis.call('LINDEX', KEYS[3], perSecond - 1))
      if now - nth < 1000 then return {nth + 1000, now, 1} end
    end
    redis.call('LPUSH', KEYS[3], now)
    redis.call('LTRIM', KEYS[3], 0, perSecond - 1)
    redis.call('PEXPIRE', KEYS[3], 2000)
  end
  return {slot, now, 1}
end
if ARGV[6] == '1' then return go(now) end
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
if ARGV[3] == '1' then
  interval = interval * tonumber(redis.call('GET', KEYS[2]) or '1')
end
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local slot = math.floor(math.max(tat - (burst - 1) * interval, now))
local maxWait = tonumber(ARGV[4])
if maxWait >= 0 and slot - now > maxWait then
  return {slot, now, 0}
end
local nextTat = tat + interval
redis.call('SET', KEYS[1], tostring(nextTat), 'PX', math.ceil(nextTat - now) + 60000)
if slot > now then return {slot, now, 1} end
return go(slot)
`;

export interface GcraRequest {
  key: string;
  intervalMs: number;
  /** Slots that may be taken at once after a quiet period (1: none). */
  burst?: number;
  /** A key whose value (a factor, e.g. 2) stretches the interval while it exists. */
  penaltyKey?: string;
  /** Reserve only a slot at most this far ahead; a later one is reported (`reserved: false`), not taken. */
  maxWaitMs?: number;
}

export interface GcraSlot {
  /** Epoch ms on Redis's clock. */
  slotAt: number;
  now: number;
  /** False only with `maxWaitMs`, when the slot lay further ahead. */
  reserved: boolean;
}

/** Waits for a gate slot shorter than this are slept through by the caller; a longer wait parks it. */
export const GATE_HORIZON_MS = 250;

/**
 * A parked caller is woken this long before its slot and waits out the rest itself: one picked up a little
 * late (BullMQ's promotion, a busy worker) still finds its slot within the gate's horizon.
 */
export const WAKE_EARLY_MS = 50;

/** A schedule and its gate: two GCRA keys at one rate (the gate's burst may be smaller). */
export interface GatedSchedule {
  schedule: GcraRequest;
  /** `perSecond`: the most that go through the gate in any second (its list of go times is `${key}:went`). */
  gate: Omit<GcraRequest, 'maxWaitMs'> & { perSecond: number };
}

/** The keys a gated schedule keeps in Redis (to forget it). */
export function gatedScheduleKeys(limits: GatedSchedule): string[] {
  return [limits.schedule.key, limits.gate.key, wentKey(limits.gate.key)];
}

const wentKey = (gateKey: string) => `${gateKey}:went`;

/** Go now, or come back with `slotAt` (the slot kept in the schedule) after `wakeInMs`. */
export type Turn = { go: true } | { go: false; slotAt: number; wakeInMs: number };

type ReserveCommand = (
  key: string,
  penaltyKey: string,
  wentKey: string,
  interval: number,
  burst: number,
  penalised: number,
  maxWait: number,
  perSecond: number,
  back: number,
) => Promise<[number, number, number]>;

/** The one rate-limiting script: reply pacing per account and deliveries per endpoint both reserve through it. */
@Injectable()
export class Gcra {
  private readonly redis: RedisClient;

  constructor(connections: RedisConnections) {
    this.redis = connections.commands;
    this.redis.defineCommand('switchboardGcra', { numberOfKeys: 3, lua: RESERVE });
  }

  /** Reserves the key's next slot: when it is (epoch ms, Redis's clock) and what time it is now there. */
  async reserve(request: GcraRequest): Promise<GcraSlot> {
    const [slotAt, now, reserved] = await this.run(request, 0, false);
    return { slotAt, now, reserved: reserved === 1 };
  }

  /**
   * A turn in a gated schedule. The schedule hands each caller a slot ahead of time (`heldSlotAt`, one it
   * reserved on an earlier call, or a new one), so a backlog is parked and spread out; a caller further than
   * GATE_HORIZON_MS from its slot is told to come back. Near its slot the gate alone decides: a slot at most
   * that far ahead, slept through here before going. A caller that overslept its slot (workers starved, a
   * backlog draining, a worker died) therefore cannot go in a slot that has passed, however many wake at
   * once: it goes when the gate has room, or takes a new slot at the end of the schedule; and the gate is kept
   * busy by whatever is due, so slots left unused by late callers cost no throughput. What goes is counted at
   * the moment it goes: one that wakes late from the gate's own sleep (an event loop held up) waits while
   * `perSecond` went in the last second, so late ones cannot crowd a second. Slots are on Redis's clock; a
   * skew with this host's only moves when the gate is asked.
   */
  async takeTurn(limits: GatedSchedule, heldSlotAt?: number | null): Promise<Turn> {
    let slotAt = heldSlotAt ?? (await this.reserve(limits.schedule)).slotAt;
    let back = false;
    for (;;) {
      if (!back) {
        const waitMs = slotAt - Date.now();
        if (waitMs > GATE_HORIZON_MS) return { go: false, slotAt, wakeInMs: waitMs - WAKE_EARLY_MS };
      }
      const [gateAt, now, reserved] = await this.run(
        { ...limits.gate, maxWaitMs: GATE_HORIZON_MS },
        limits.gate.perSecond,
        back,
      );
      if (reserved === 1) {
        if (gateAt <= now) return { go: true };
        // Until its gate slot, or until the second it would go in has room: then it is counted.
        await this.pause(gateAt - now);
        back = true;
      } else {
        // Each new slot is one interval further along the schedule: within GATE_HORIZON_MS / interval rounds
        // it lies beyond the horizon and the caller parks.
        slotAt = (await this.reserve(limits.schedule)).slotAt;
      }
    }
  }

  /** Sleeps until a gate slot: a seam for tests, which make a caller wake up late. */
  protected pause(ms: number): Promise<void> {
    return sleep(ms);
  }

  private run(request: GcraRequest, perSecond: number, back: boolean) {
    return (this.redis as unknown as { switchboardGcra: ReserveCommand }).switchboardGcra(
      request.key,
      request.penaltyKey ?? request.key,
      wentKey(request.key),
      request.intervalMs,
      request.burst ?? 1,
      request.penaltyKey ? 1 : 0,
      request.maxWaitMs ?? -1,
      perSecond,
      back ? 1 : 0,
    );
  }
}
