import request from 'supertest';
import { instagramEnvelope, messagingItem } from './support/meta-payloads';
import { TcpProxy } from './support/tcp-proxy';
import { TestApp, postWebhook, startTestApp } from './support/test-app';
import { createTestDatabase } from './support/test-database';
import { waitFor } from './support/wait';

const post = postWebhook;

const statusOf = async (t: TestApp, mid: string) =>
  (
    await t.db.pool.query(
      `SELECT status, EXISTS (SELECT 1 FROM inbound_enqueue_outbox o WHERE o.event_id = e.id) AS in_outbox
         FROM inbound_events e WHERE meta_message_id = $1`,
      [mid],
    )
  ).rows[0] as { status: string; in_outbox: boolean } | undefined;

describe('when Redis is unreachable', () => {
  let t: TestApp;
  let proxy: TcpProxy;

  beforeAll(async () => {
    proxy = new TcpProxy('127.0.0.1', 6379);
    const port = await proxy.start();
    t = await startTestApp({ env: { REDIS_URL: `redis://127.0.0.1:${port}` } });
  });
  afterAll(async () => {
    proxy.restore();
    await t?.close();
    await proxy.stop();
  });

  it('still answers 200, keeps the event in Postgres, and processes it once Redis is back', async () => {
    proxy.cut();
    const res = await post(
      t,
      instagramEnvelope([messagingItem({ mid: 'm_redis_down', sender: 'p-redis', text: 'while redis is down' })]),
    );
    expect(res.status).toBe(200);
    expect(await statusOf(t, 'm_redis_down')).toEqual({ status: 'received', in_outbox: true });

    const ready = await request(t.url).get('/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.body.details.redis.status).toBe('down');

    proxy.restore();
    await waitFor(async () => (await statusOf(t, 'm_redis_down'))?.status === 'processed', {
      timeoutMs: 30_000,
      message: 'processed after Redis returned',
    });
    expect(t.graph.repliesTo('p-redis')).toHaveLength(1);
    expect((await request(t.url).get('/health/ready')).status).toBe(200);
  });

  it('re-enqueues every unfinished event when Redis has lost its data (restarted without persistence)', async () => {
    expect(
      (
        await post(
          t,
          instagramEnvelope([messagingItem({ mid: 'm_lost', sender: 'p-lost', text: 'queued, then lost' })]),
        )
      ).status,
    ).toBe(200);
    await waitFor(async () => (await statusOf(t, 'm_lost'))?.in_outbox === false);
    // Simulate the loss: the event is unfinished and marked queued, but Redis no longer holds anything.
    await t.db.pool.query(`UPDATE inbound_events SET status = 'received' WHERE meta_message_id = 'm_lost'`);
    await t.db.pool.query(
      `DELETE FROM replies r USING inbound_events e WHERE e.id = r.event_id AND e.meta_message_id = 'm_lost'`,
    );
    const sent = t.graph.repliesTo('p-lost').length;
    if (t.redis.status === 'wait') await t.redis.connect();
    const keys = await t.redis.keys(`${t.prefix}:*`);
    if (keys.length) await t.redis.del(...keys);

    await waitFor(async () => (await statusOf(t, 'm_lost'))?.status === 'processed', {
      timeoutMs: 30_000,
      message: 're-enqueued and processed',
    });
    expect(t.graph.repliesTo('p-lost')).toHaveLength(sent + 1);
  });
});

describe('when Postgres is unreachable', () => {
  it('answers 503 (nothing is acknowledged that is not durable) and recovers when it is back', async () => {
    const db = await createTestDatabase();
    const proxy = new TcpProxy('127.0.0.1', 5432);
    const port = await proxy.start();
    const t = await startTestApp({ db, env: { DATABASE_URL: db.url.replace('127.0.0.1:5432', `127.0.0.1:${port}`) } });
    try {
      proxy.cut();
      const body = instagramEnvelope([
        messagingItem({ mid: 'm_pg_down', sender: 'p-pg', text: 'while postgres is down' }),
      ]);
      const res = await post(t, body);
      expect(res.status).toBe(503);
      expect(res.body).toMatchObject({ statusCode: 503, error: 'Service Unavailable' });
      expect((await request(t.url).get('/health/ready')).status).toBe(503);

      proxy.restore();
      await waitFor(async () => (await post(t, body)).status === 200, { timeoutMs: 20_000, intervalMs: 250 });
      await waitFor(async () => (await statusOf(t, 'm_pg_down'))?.status === 'processed');
      expect(t.graph.repliesTo('p-pg')).toHaveLength(1);
    } finally {
      proxy.restore();
      await t.close();
      await proxy.stop();
      await db.drop();
    }
  });
});

describe('USE_QUEUE=false (emergency fallback)', () => {
  it('processes the event inside the request', async () => {
    const t = await startTestApp({ env: { USE_QUEUE: 'false', WORKERS_ENABLED: 'false' } });
    try {
      const res = await post(
        t,
        instagramEnvelope([messagingItem({ mid: 'm_inline', sender: 'p-inline', text: 'no queue' })]),
      );
      expect(res.status).toBe(200);
      expect(await statusOf(t, 'm_inline')).toMatchObject({ status: 'processed' });
      expect(t.graph.repliesTo('p-inline')).toHaveLength(1);
    } finally {
      await t.close();
    }
  });
});
