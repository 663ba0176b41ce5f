import request from 'supertest';
import { QueueFiguresLogger } from '../src/ops/metrics/queue-figures-logger';
import { InboundEventProducer } from '../src/inbound/queue/inbound-event.producer';
import { VipSenders } from '../src/inbound/priority/vip-senders';
import { instagramEnvelope, messagingItem } from './support/meta-payloads';
import { TestApp, postWebhook, startTestApp } from './support/test-app';
import { waitFor } from './support/wait';

const OPS = 'ops-test-key-0123456789abcdefxxx';

describe('admin: queues, jobs and VIP priority (real Postgres, Redis and a fake Graph API)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({
      env: {
        OPS_API_KEYS: OPS,
        // One job at a time, so the order in which jobs leave the queue is the order of the Graph requests.
        WORKER_CONCURRENCY: '1',
        // A retry is due in 30-60 s: long enough to inspect a delayed job.
        RETRY_BASE_DELAY_MS: '60000',
        VIP_SENDER_IDS: 'vip-from-config',
      },
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  const ops = (path: string) => request(t.url).get(path).set('authorization', `Bearer ${OPS}`);
  const post = (body: string) => postWebhook(t, body).expect(200);
  const eventId = async (mid: string) =>
    (await t.db.pool.query(`SELECT id FROM inbound_events WHERE meta_message_id = $1`, [mid])).rows[0]?.id as string;
  const processed = (count: number) =>
    waitFor(
      async () =>
        (await t.db.pool.query(`SELECT count(*)::int AS n FROM inbound_events WHERE status = 'processed'`)).rows[0].n >=
        count,
      { message: `${count} events processed` },
    );

  it('GET /admin/queues: counts, dead letters, failures, processing time and throughput per queue', async () => {
    await post(
      instagramEnvelope([
        messagingItem({ mid: 'm_q_1', sender: 'queue-1', text: 'a' }),
        messagingItem({ mid: 'm_q_2', sender: 'queue-2', text: 'b' }),
      ]),
    );
    await processed(2);
    t.graph.answerNext({ status: 400, body: { error: { code: 10, error_subcode: 2018278 } } });
    await post(instagramEnvelope([messagingItem({ mid: 'm_q_3', sender: 'queue-3', text: 'c' })]));
    await waitFor(async () => (await t.db.pool.query(`SELECT 1 FROM dead_letters`)).rows.length === 1);

    const res = await ops('/admin/queues');
    expect(res.status).toBe(200);
    expect(res.body.redisConnected).toBe(true);
    const inbound = res.body.queues.find((q: { name: string }) => q.name === 'inbound-events');
    expect(inbound).toMatchObject({
      waiting: 0,
      active: 0,
      delayed: 0,
      prioritized: 0,
      completed: 2,
      failed: 1,
      deadLetters: 1,
      failuresLast15Minutes: 1,
      throughputLastMinute: 3,
      timingsSource: 'postgres',
      processing: { sampleSize: 2, averageMs: expect.any(Number), p95Ms: expect.any(Number) },
    });
    expect(inbound.processing.p95Ms).toBeGreaterThanOrEqual(0);
  });

  it('the worker logs one line of queue figures (every minute)', async () => {
    await t.app.get(QueueFiguresLogger).logOnce();
    const line = t
      .logs()
      .split('\n')
      .find((l) => l.includes('"msg":"queue figures"'));
    expect(JSON.parse(line!)).toMatchObject({
      level: 30,
      queues: { 'inbound-events': { waiting: expect.any(Number), active: expect.any(Number), failed: 1 } },
    });
  });

  it('GET /admin/jobs/:queue/:id: attempts, times, last sanitised error and the next retry; 404 when unknown', async () => {
    t.graph.answerNext({ status: 503 });
    await post(instagramEnvelope([messagingItem({ mid: 'm_job_retry', sender: 'job-1', text: 'secret text' })]));
    const id = await waitFor(() => eventId('m_job_retry'));
    const job = await waitFor(async () => {
      const res = await ops(`/admin/jobs/inbound-events/${id}`);
      return res.body.state === 'delayed' ? res.body : null;
    });
    expect(job).toMatchObject({
      id,
      queue: 'inbound-events',
      name: 'process-inbound-event',
      data: { eventId: id },
      attempts: 1,
      maxAttempts: 3,
      lastError: 'Graph API answered 503',
    });
    const due = Date.parse(job.nextRetryAt) - Date.now();
    expect(due).toBeGreaterThan(20_000);
    expect(due).toBeLessThanOrEqual(60_000);
    expect(Date.parse(job.createdAt)).toBeLessThanOrEqual(Date.parse(job.startedAt));
    expect(JSON.stringify(job)).not.toContain('secret text');

    const done = await ops(`/admin/jobs/inbound-events/${await eventId('m_q_1')}`);
    expect(done.body).toMatchObject({ state: 'completed', attempts: 1, lastError: null, nextRetryAt: null });
    expect(Date.parse(done.body.finishedAt)).toBeGreaterThanOrEqual(Date.parse(done.body.startedAt));

    expect((await ops('/admin/jobs/inbound-events/no-such-job')).status).toBe(404);
    expect((await ops(`/admin/jobs/no-such-queue/${id}`)).status).toBe(404);
    expect((await ops('/admin/jobs/inbound-events/bad:id')).status).toBe(400);
  });

  it('VIP senders are managed over HTTP by ops, audited without the sender id', async () => {
    const auth = { authorization: `Bearer ${OPS}` };
    const added = await request(t.url)
      .post('/admin/vip-senders')
      .set(auth)
      .send({ provider: 'instagram', senderId: 'vip-over-http', note: 'board member' });
    expect(added.status).toBe(200);
    expect(added.body).toMatchObject({ provider: 'instagram', senderId: 'vip-over-http', note: 'board member' });
    const list = await ops('/admin/vip-senders');
    expect(list.body).toMatchObject({
      items: [{ provider: 'instagram', senderId: 'vip-over-http' }],
      fromConfig: ['vip-from-config'],
    });
    expect(
      (await request(t.url).post('/admin/vip-senders').set(auth).send({ provider: 'myspace', senderId: 'x' })).status,
    ).toBe(400);
    expect((await request(t.url).post('/admin/vip-senders').set('authorization', 'Bearer nope').send({})).status).toBe(
      401,
    );
    expect((await request(t.url).delete('/admin/vip-senders/instagram/vip-over-http').set(auth)).status).toBe(204);
    expect((await request(t.url).delete('/admin/vip-senders/instagram/vip-over-http').set(auth)).status).toBe(404);
    const audit = await t.db.pool.query(
      `SELECT action, actor, metadata::text AS metadata FROM audit_log WHERE action LIKE 'vipsender.%' ORDER BY id`,
    );
    expect(audit.rows.map((r) => [r.action, r.actor])).toEqual([
      ['vipsender.added', 'env:ops:1'],
      ['vipsender.removed', 'env:ops:1'],
    ]);
    expect(audit.rows[0].metadata).toContain('senderFingerprint');
    expect(audit.rows.map((r) => r.metadata).join()).not.toContain('vip-over-http');
  });

  it('processes a VIP sender (VIP_SENDER_IDS or the vip_senders table) before a backlog of others', async () => {
    await t.db.pool.query(
      `INSERT INTO vip_senders (provider, sender_id, note) VALUES ('instagram', 'vip-from-table', 'test')`,
    );
    await t.app.get(VipSenders).refresh();
    const queue = t.app.get(InboundEventProducer).queue;
    await queue.pause();
    const before = t.graph.requests.length;
    await post(
      instagramEnvelope(
        Array.from({ length: 30 }, (_, i) =>
          messagingItem({ mid: `m_backlog_${i}`, sender: `normal-${i}`, text: 'n' }),
        ),
      ),
    );
    await post(instagramEnvelope([messagingItem({ mid: 'm_vip_config', sender: 'vip-from-config', text: 'v' })]));
    await post(instagramEnvelope([messagingItem({ mid: 'm_vip_table', sender: 'vip-from-table', text: 'v' })]));
    await waitFor(async () => (await queue.getJobCounts('waiting')).waiting === 32, { message: '32 jobs waiting' });
    const priorities = await t.db.pool.query<{ priority: number }>(
      `SELECT priority FROM inbound_events WHERE meta_message_id IN ('m_vip_config', 'm_vip_table')`,
    );
    expect(priorities.rows.map((r) => r.priority)).toEqual([1, 1]);

    await queue.resume();
    await waitFor(() => t.graph.requests.length - before >= 32, { message: 'every reply sent' });
    const order = t.graph.requests.slice(before).map((r) => r.body.recipient?.id);
    expect(new Set(order.slice(0, 2))).toEqual(new Set(['vip-from-config', 'vip-from-table']));
  });
});
