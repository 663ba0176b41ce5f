import { ChildProcess, spawn } from 'node:child_process';
import { Redis } from 'ioredis';
import request from 'supertest';
import { startTestApp, TestApp } from '../support/test-app';
import { waitFor } from '../support/wait';
import { verifyDelivery, WebhookReceiver } from '../support/webhook-receiver';
import { expectEverythingProcessedOnce, log, mids, outcome, postBurst } from './support';

// A private Redis without persistence, so a restart loses the queue. The shared Redis on 6379 is never touched.
const PORT = Number(process.env.FAULT_REDIS_PORT ?? 6390);
const URL = `redis://127.0.0.1:${PORT}`;

async function startRedis(): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(PORT), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
  const probe = new Redis(URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => undefined);
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`redis-server exited (${child.exitCode}); is port ${PORT} free?`);
      await probe.connect().catch(() => undefined);
      return (await probe.ping().catch(() => '')) === 'PONG';
    },
    { timeoutMs: 10_000, message: `redis-server on ${PORT}` },
  );
  probe.disconnect();
  return child;
}

async function stopRedis(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

describe('Redis restarted (no persistence: the queue is gone) in the middle of a burst', () => {
  let t: TestApp | undefined;
  let redis: ChildProcess | undefined;
  const subscriber = new WebhookReceiver();

  afterAll(async () => {
    await subscriber.stop();
    try {
      // Closing the app needs its Redis: bring it back if a failed run left it down.
      if (!redis || redis.exitCode !== null || redis.signalCode !== null) redis = await startRedis();
      await t?.close();
    } finally {
      await stopRedis(redis);
    }
  });

  it('acknowledges during the outage, re-enqueues every unfinished event from Postgres, replies to each once, and delivers every outbound event', async () => {
    redis = await startRedis();
    await subscriber.start();
    t = await startTestApp({
      env: {
        REDIS_URL: URL,
        LOG_LEVEL: 'warn',
        WORKER_CONCURRENCY: '50',
        OPS_API_KEYS: 'sb_ops_redis-restart-key-0123456789abcdef',
        OUTBOUND_ALLOW_PRIVATE_NETWORKS: 'true',
      },
    });
    const app = t;
    // A subscriber to the bridge's events: their deliveries are queued in Redis when it goes.
    const endpoint = await request(app.url)
      .post('/endpoints')
      .set({ authorization: 'Bearer sb_ops_redis-restart-key-0123456789abcdef' })
      .send({ url: subscriber.url('/crm'), events: ['instagram.message.received'] });
    expect(endpoint.status).toBe(201);
    const first = mids('rrst', 4000);
    const duringOutage = mids('rrstdown', 1000);
    const burst = postBurst(app.url, first, 32);
    await waitFor(async () => (await outcome(app, 'rrst')).repliesSent >= 1000, { timeoutMs: 90_000, intervalMs: 200 });
    await stopRedis(redis);
    log(`Redis killed: ${JSON.stringify(await outcome(app, 'rrst'))}`);
    // While Redis is down the webhooks are still acknowledged: Postgres alone makes a 200 safe.
    const down = postBurst(app.url, duringOutage, 16);
    await down.done;
    expect(down.acknowledged()).toHaveLength(duringOutage.length);
    redis = await startRedis();
    log('Redis back, empty');
    await burst.done;

    for (const [prefix, sent, acknowledged] of [
      ['rrst', first, burst.acknowledged()],
      ['rrstdown', duringOutage, down.acknowledged()],
    ] as const) {
      expect(acknowledged).toHaveLength(sent.length);
      const result = await expectEverythingProcessedOnce(app, prefix, acknowledged, 120_000);
      log(`${prefix} after recovery: ${JSON.stringify(result.final)}`);
      expect(result.lost).toEqual([]);
      expect(result.final.processed).toBe(sent.length);
      expect(result.tally.duplicates).toBe(0);
      // Jobs active when Redis vanished may be re-run: their reply is then `unknown`, never sent twice.
      expect(result.final.repliesSent + result.final.repliesUnknown).toBe(sent.length);
      expect(result.sentWithoutCall).toBe(0);
    }

    // Every processed message's outbound event reaches the subscriber (at least once, same webhook-id).
    const total = first.length + duringOutage.length;
    const deliveries = await waitFor(
      async () => {
        const { rows } = await app.db.pool.query(
          `SELECT count(*)::int AS events,
                  (SELECT count(*) FROM outbound_deliveries WHERE status = 'succeeded')::int AS succeeded,
                  (SELECT count(*) FROM outbound_deliveries WHERE status <> 'succeeded')::int AS other
             FROM outbound_events WHERE event_type = 'instagram.message.received'`,
        );
        const now = rows[0] as { events: number; succeeded: number; other: number };
        return now.events === total && now.succeeded === total ? now : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 500, message: 'every outbound delivery succeeded' },
    );
    const received = subscriber.at('/crm');
    const ids = new Set(received.map((hit) => String(hit.headers['webhook-id'])));
    log(`outbound after recovery: ${JSON.stringify(deliveries)}, ${received.length} requests for ${ids.size} events`);
    expect(ids.size).toBe(total);
    expect(verifyDelivery(endpoint.body.secret, received[received.length - 1]).type).toBe('instagram.message.received');
  });
});
