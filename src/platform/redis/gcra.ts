import { Injectable } from '@nestjs/common';
import { RedisConnections } from './redis-connections';
import { RedisClient } from './redis-connection';

/*
 * GCRA reservation, atomically in Redis and on Redis TIME, so every process shares one schedule per key.
 * Each call reserves the next free slot, even one in the future (a waiting caller sleeps until its own slot
 * instead of polling with every other), and returns {slotAt, now}: slotAt <= now means go. A caller that
 * comes back within one interval of a slot it holds (ARGV[3]) keeps it. ARGV[2] is the burst; with
 * ARGV[4] = 1, KEYS[2] holds a throttling penalty that stretches the interval while it lasts. With ARGV[5]
 * >= 0, a slot further than that many ms ahead is not reserved: the answer is {slotAt, now, 0}.
 */
const RESERVE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local held = tonumber(ARGV[3])
if held > 0 and now - held <= interval then
  return {held, now}
end
if ARGV[4] == '1' then
  interval = interval * tonumber(redis.call('GET', KEYS[2]) or '1')
end
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local slot = tat - (burst - 1) * interval
if slot < now then slot = now end
local maxWait = tonumber(ARGV[5])
if maxWait >= 0 and slot - now > maxWait then
  return {math.floor(slot), now, 0}
end
local nextTat = tat + interval
redis.call('SET', KEYS[1], tostring(nextTat), 'PX', math.ceil(nextTat - now) + 60000)
return {math.floor(slot), now, 1}
`;

export interface GcraRequest {
  key: string;
  intervalMs: number;
  /** Slots that may be taken at once after a quiet period (1: none). */
  burst?: number;
  /** Epoch ms of a slot this caller reserved before it went to sleep. */
  heldSlotAt?: number;
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

type ReserveCommand = (
  key: string,
  penaltyKey: string,
  interval: number,
  burst: number,
  held: number,
  penalised: number,
  maxWait: number,
) => Promise<[number, number, number]>;

/** The one rate-limiting script: reply pacing per account and deliveries per endpoint both reserve through it. */
@Injectable()
export class Gcra {
  private readonly redis: RedisClient;

  constructor(connections: RedisConnections) {
    this.redis = connections.commands;
    this.redis.defineCommand('switchboardGcra', { numberOfKeys: 2, lua: RESERVE });
  }

  /** Reserves the key's next slot: when it is (epoch ms, Redis's clock) and what time it is now there. */
  async reserve(request: GcraRequest): Promise<GcraSlot> {
    const [slotAt, now, reserved] = await (
      this.redis as unknown as { switchboardGcra: ReserveCommand }
    ).switchboardGcra(
      request.key,
      request.penaltyKey ?? request.key,
      request.intervalMs,
      request.burst ?? 1,
      request.heldSlotAt ?? 0,
      request.penaltyKey ? 1 : 0,
      request.maxWaitMs ?? -1,
    );
    return { slotAt, now, reserved: reserved === 1 };
  }
}
