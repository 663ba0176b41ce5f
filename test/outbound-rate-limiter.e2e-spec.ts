import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { AppConfig } from '../src/platform/config/app-config';
import { RateLimiter } from '../src/outbound/delivery/rate-limiter';
import { GATE_HORIZON_MS, Gcra } from '../src/platform/redis/gcra';
import { RedisConnections } from '../src/platform/redis/redis-connections';
import { busiestSecond } from './support/busiest-second';
import { TEST_REDIS_URL } from './support/test-app';
import { waitFor } from './support/wait';

describe('RateLimiter across processes (two limiters on one Redis)', () => {
  const prefix = `sbtest-rl-${randomBytes(4).toString('hex')}`;
  const config = AppConfig.fromEnvironment({ NODE_ENV: 'test', REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: prefix });
  // Two processes: each its own Redis connections.
  const connections = [new RedisConnections(config), new RedisConnections(config)];
  const limiters = connections.map((redis) => new RateLimiter(config, new Gcra(redis), redis));

  afterAll(async () => {
    connections.forEach((redis) => redis.onApplicationShutdown());
    const redis = new Redis(TEST_REDIS_URL);
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });

  /** Asks each limiter in turn, all at once: when each 'go' came back, and the slots of those told to wait. */
  async function askAll(endpointId: string, perSecond: number, held: (number | undefined)[]) {
    const went: number[] = [];
    const slots: number[] = [];
    await Promise.all(
      held.map(async (slotAt, i) => {
        const decision = await limiters[i % 2].reserve(endpointId, perSecond, slotAt);
        if (decision.verdict === 'go') went.push(Date.now());
        else slots.push(decision.slotAt);
      }),
    );
    return { went: went.sort((a, b) => a - b), slots: slots.sort((a, b) => a - b) };
  }

  it('hands out one slot per interval whoever asks: the next few are waited for, the rest get future slots', async () => {
    const perSecond = 50;
    const started = Date.now();
    const { went, slots } = await askAll('endpoint-a', perSecond, new Array<undefined>(40).fill(undefined));
    // What lies within the gate's horizon goes after a short wait in the caller, one per interval.
    expect(went.length).toBeGreaterThanOrEqual(1);
    expect(went.length).toBeLessThanOrEqual(GATE_HORIZON_MS / 20 + 2);
    expect(went[went.length - 1] - started).toBeGreaterThanOrEqual((went.length - 1) * 20 - 5);
    expect(busiestSecond(went)).toBeLessThanOrEqual(perSecond);
    // The rest are parked for slots beyond it, one interval apart: 40 requests at 50/s span 39 intervals.
    expect(slots).toHaveLength(40 - went.length);
    for (let i = 1; i < slots.length; i++) expect(slots[i] - slots[i - 1]).toBeGreaterThanOrEqual(19);
    expect(slots[0] - started).toBeGreaterThan(GATE_HORIZON_MS - 20);
    expect(slots[slots.length - 1] - started).toBeGreaterThanOrEqual(37 * 20);
  });

  it('lets a job that comes back for its reserved slot through in that slot, and the next one waits', async () => {
    const first = await limiters[0].reserve('endpoint-b', 2);
    const second = await limiters[1].reserve('endpoint-b', 2);
    expect(first.verdict).toBe('go');
    expect(second.verdict).toBe('wait');
    if (second.verdict !== 'wait') return;
    // Woken a little before its slot, it waits out the rest here.
    expect(second.waitMs).toBeLessThan(second.slotAt - Date.now());
    await sleep(second.waitMs);
    expect((await limiters[0].reserve('endpoint-b', 2, second.slotAt)).verdict).toBe('go');
    expect(Date.now()).toBeGreaterThanOrEqual(second.slotAt - 10);
    // Someone else now waits for the next slot.
    expect((await limiters[1].reserve('endpoint-b', 2)).verdict).toBe('wait');
  });

  it('jobs that come back long after their slots do not go out together: the gate spaces them, the rest get new slots', async () => {
    const perSecond = 20;
    const first = await askAll('endpoint-c', perSecond, new Array<undefined>(10).fill(undefined));
    expect(first.slots.length).toBeGreaterThan(2);
    // Every slot passed long ago (the workers were busy); all those jobs come back at once.
    await sleep(1000);
    const late = await askAll('endpoint-c', perSecond, first.slots);
    expect(late.went.length).toBeGreaterThanOrEqual(1);
    expect(late.went.length).toBeLessThanOrEqual(GATE_HORIZON_MS / 50 + 2);
    for (let i = 1; i < late.went.length; i++) expect(late.went[i] - late.went[i - 1]).toBeGreaterThanOrEqual(40);
    expect(late.slots).toHaveLength(first.slots.length - late.went.length);
    for (let i = 1; i < late.slots.length; i++) expect(late.slots[i] - late.slots[i - 1]).toBeGreaterThanOrEqual(49);
  });

  it('jobs that wake late for every slot (busy workers) still pass at the limit, and no second holds more', async () => {
    const perSecond = 20;
    const jobs = 30;
    const lateMs = 120; // more than one interval: BullMQ's promotion and a busy worker's pick-up
    const started = Date.now();
    const passed: number[] = [];
    await Promise.all(
      Array.from({ length: jobs }, async (_, i) => {
        let slotAt: number | undefined;
        for (let run = 0; run < 20; run++) {
          const decision = await limiters[i % 2].reserve('endpoint-late', perSecond, slotAt);
          if (decision.verdict === 'go') return void passed.push(Date.now());
          slotAt = decision.slotAt;
          await sleep(decision.waitMs + lateMs);
        }
      }),
    );
    expect(passed).toHaveLength(jobs);
    // 30 at 20/s is 1.5 s of slots: the lateness is paid once, not once per slot.
    expect(Math.max(...passed) - started).toBeLessThan((jobs / perSecond) * 1000 * 1.1 + lateMs + 250);
    expect(busiestSecond(passed)).toBeLessThanOrEqual(perSecond + 1);
  });

  it('deliveries that wake late from the sleep until their gate slot do not crowd a second', async () => {
    // A worker whose event loop is held up: its sleeps until a gate slot end 140 ms late.
    let sleeping = 0;
    class LateGcra extends Gcra {
      protected override pause(ms: number): Promise<void> {
        sleeping++;
        return sleep(ms + 140);
      }
    }
    const lagging = new RateLimiter(config, new LateGcra(connections[1]), connections[1]);
    const perSecond = 20;
    const passed: number[] = [];
    /** One delivery: asks until it may go (a parked one comes back when it is told to). */
    const deliver = async (limiter: RateLimiter) => {
      let slotAt: number | undefined;
      for (let run = 0; run < 40; run++) {
        const decision = await limiter.reserve('endpoint-lagging', perSecond, slotAt);
        if (decision.verdict === 'go') return void passed.push(Date.now());
        slotAt = decision.slotAt;
        await sleep(decision.waitMs);
      }
    };
    const started = Date.now();
    await deliver(limiters[0]);
    // Two deliveries on the lagging worker take the next two gate slots, then sleep through them and go late...
    const late = [deliver(lagging), deliver(lagging)];
    await waitFor(() => (sleeping === 2 ? true : undefined), { timeoutMs: 1000, intervalMs: 1 });
    // ...into the second of a backlog on a worker that is on time.
    await Promise.all([...late, ...Array.from({ length: 25 }, () => deliver(limiters[0]))]);
    expect(passed).toHaveLength(28);
    expect(busiestSecond(passed)).toBeLessThanOrEqual(perSecond + 1);
    // Each late one gives up its own slot only: the backlog still drains at the limit.
    expect(Math.max(...passed) - started).toBeLessThan((28 / perSecond) * 1000 + 140 + 250);
  });
});
