import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { AppConfig } from '../src/platform/config/app-config';
import { RateLimiter } from '../src/outbound/delivery/rate-limiter';
import { Gcra } from '../src/platform/redis/gcra';
import { RedisConnections } from '../src/platform/redis/redis-connections';
import { TEST_REDIS_URL } from './support/test-app';

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

  it('hands out one slot per interval whoever asks, reserving future slots instead of refusing', async () => {
    const perSecond = 50;
    const decisions = await Promise.all(
      Array.from({ length: 40 }, (_, i) => limiters[i % 2].reserve('endpoint-a', perSecond)),
    );
    const slots = decisions.map((d) => (d.verdict === 'go' ? 0 : d.slotAt)).filter((slot) => slot > 0);
    expect(decisions.filter((d) => d.verdict === 'go')).toHaveLength(1);
    const sorted = [...slots].sort((a, b) => a - b);
    for (let i = 1; i < sorted.length; i++) expect(sorted[i] - sorted[i - 1]).toBeGreaterThanOrEqual(19);
    // 40 requests at 50/s span 39 intervals: no burst beyond the limit.
    expect(sorted[sorted.length - 1] - sorted[0]).toBeGreaterThanOrEqual(37 * 20);
  });

  it('lets a job that comes back for its reserved slot through, once', async () => {
    const first = await limiters[0].reserve('endpoint-b', 10);
    const second = await limiters[1].reserve('endpoint-b', 10);
    expect(first.verdict).toBe('go');
    expect(second.verdict).toBe('wait');
    if (second.verdict !== 'wait') return;
    await new Promise((resolve) => setTimeout(resolve, second.waitMs + 5));
    expect((await limiters[0].reserve('endpoint-b', 10, second.slotAt)).verdict).toBe('go');
    // Someone else now waits for the next slot.
    expect((await limiters[1].reserve('endpoint-b', 10)).verdict).toBe('wait');
  });

  it('jobs that come back long after their slots do not go out together: one passes, the rest get new slots', async () => {
    const held = await Promise.all(Array.from({ length: 10 }, (_, i) => limiters[i % 2].reserve('endpoint-c', 20)));
    const slots = held.flatMap((d) => (d.verdict === 'wait' ? [d.slotAt] : []));
    expect(slots).toHaveLength(9);
    // Every slot passed long ago (the workers were busy); all ten jobs come back at once.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const late = await Promise.all(slots.map((slot, i) => limiters[i % 2].reserve('endpoint-c', 20, slot)));
    expect(late.filter((d) => d.verdict === 'go')).toHaveLength(1);
    const renewed = late.flatMap((d) => (d.verdict === 'wait' ? [d.slotAt] : [])).sort((a, b) => a - b);
    for (let i = 1; i < renewed.length; i++) expect(renewed[i] - renewed[i - 1]).toBeGreaterThanOrEqual(49);
  });
});
