import { Job, Queue, Worker } from 'bullmq';
import request from 'supertest';
import { InboundEventHandler } from '../src/inbound/processing/inbound-event.handler';
import { EnqueueRelay } from '../src/inbound/queue/enqueue-relay';
import { InboundEventProducer } from '../src/inbound/queue/inbound-event.producer';
import { ProcessInboundEventJob, QueueName } from '../src/platform/queue/queue-names';
import { redisConnection } from '../src/platform/redis/redis-connection';
import { instagramEnvelope, messagingItem, sign } from './support/meta-payloads';
import { startTestApp, TEST_APP_SECRET, TestApp } from './support/test-app';
import { waitFor } from './support/wait';

const LIMIT = 5;
const EVENTS = 12;

describe('flood protection at ingest (real Postgres and Redis)', () => {
  let t: TestApp;
  let queue: Queue<ProcessInboundEventJob>;
  let worker: Worker<ProcessInboundEventJob> | undefined;

  beforeAll(async () => {
    // No in-process workers: the backlog only grows until the test consumes it.
    t = await startTestApp({ env: { INGEST_BACKLOG_LIMIT: String(LIMIT), WORKERS_ENABLED: 'false' } });
    queue = t.app.get(InboundEventProducer).queue;
  });
  afterAll(async () => {
    await worker?.close();
    await t?.close();
  });

  const sql = async <T = Record<string, unknown>>(text: string, params: unknown[] = []) =>
    (await t.db.pool.query(text, params)).rows as T[];
  const stored = async () =>
    (
      await sql<{ all: number; queued: number; processed: number }>(
        `SELECT count(*)::int AS all,
              count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM inbound_enqueue_outbox o WHERE o.event_id = e.id))::int
                AS queued,
              count(*) FILTER (WHERE status = 'processed')::int AS processed FROM inbound_events e`,
      )
    )[0];
  const backlog = async () => {
    const counts = await queue.getJobCounts('waiting', 'prioritized', 'delayed');
    return counts.waiting + counts.prioritized + counts.delayed;
  };
  const ready = () => request(t.url).get('/health/ready');
  const post = (i: number) => {
    const body = instagramEnvelope([messagingItem({ mid: `m_flood_${i}`, sender: `flood-user-${i}`, text: 'hi' })]);
    return request(t.url)
      .post('/webhooks/instagram')
      .set('content-type', 'application/json')
      .set('x-hub-signature-256', sign(body, TEST_APP_SECRET))
      .send(body);
  };
  /** Runs one queued job through the real handler, as a worker would. */
  const handler = () => t.app.get(InboundEventHandler, { strict: false });
  const process = (job: Job<ProcessInboundEventJob>) =>
    handler().handle(job.data.eventId, { attempt: 1, finalAttempt: false, jobId: job.id ?? null });

  it('stores every event, enqueues only up to the limit, and reports degraded (still 200)', async () => {
    const before = await ready();
    expect(before.status).toBe(200);
    expect(before.body).toMatchObject({
      status: 'ok',
      info: { backlog: { status: 'up', degraded: false, limit: LIMIT } },
    });

    for (let i = 0; i < EVENTS; i++) {
      const res = await post(i);
      expect(res.status).toBe(200);
      expect(res.text).toBe('EVENT_RECEIVED');
    }
    expect((await stored()).all).toBe(EVENTS);

    const degraded = await waitFor(() => ready().then((res) => (res.body.status === 'degraded' ? res : null)), {
      message: 'readiness to report degraded',
    });
    expect(degraded.status).toBe(200);
    expect(degraded.body.info.backlog).toMatchObject({ status: 'up', degraded: true, holding: true, limit: LIMIT });
    expect(t.logs()).toContain('ingest degraded');
    const metrics = (await request(t.url).get('/metrics')).text;
    expect(metrics).toMatch(/^switchboard_ingest_degraded 1$/m);
    expect(metrics).toMatch(/^switchboard_ingest_backlog_limit 5$/m);
    expect(metrics).toMatch(/^switchboard_ingest_events_held_total [1-9]/m);

    await waitFor(async () => (await backlog()) === LIMIT && (await stored()).queued === LIMIT, {
      message: 'the admitted jobs on the queue',
    });
    // Relay passes while the backlog is at the limit enqueue nothing.
    const relay = t.app.get(EnqueueRelay);
    await relay.runOnce();
    await relay.runOnce();
    expect(await backlog()).toBe(LIMIT);
    expect((await stored()).queued).toBe(LIMIT);
  });

  it('lets the relay enqueue held events only as room frees up (limit − backlog per pass)', async () => {
    // Consume exactly the admitted jobs, by hand.
    const consumer = new Worker<ProcessInboundEventJob>(QueueName.InboundEvents, null, {
      connection: redisConnection(t.config, { failFast: false }),
      prefix: t.prefix,
      autorun: false,
    });
    try {
      for (let n = 0; n < LIMIT; n++) {
        const job = (await consumer.getNextJob('test-token')) as Job<ProcessInboundEventJob>;
        await process(job);
        await job.moveToCompleted('processed', 'test-token', false);
      }
    } finally {
      await consumer.close();
    }

    // Room for LIMIT again: the relay fills it, and no more.
    await waitFor(async () => (await stored()).queued === 2 * LIMIT, { message: 'the relay to enqueue held events' });
    expect(await backlog()).toBe(LIMIT);
    expect((await stored()).queued).toBe(2 * LIMIT);
    expect((await ready()).body.status).toBe('degraded');
  });

  it('recovers once the backlog drains: every held event is enqueued and processed, readiness says ok', async () => {
    worker = new Worker<ProcessInboundEventJob>(QueueName.InboundEvents, (job) => process(job), {
      connection: redisConnection(t.config, { failFast: false }),
      prefix: t.prefix,
      concurrency: 4,
    });
    await waitFor(async () => (await stored()).processed === EVENTS, { message: 'every stored event processed' });
    expect((await stored()).queued).toBe(EVENTS);
    expect(t.graph.requests).toHaveLength(EVENTS);

    const recovered = await waitFor(() => ready().then((res) => (res.body.status === 'ok' ? res : null)), {
      message: 'readiness to recover',
    });
    expect(recovered.body.info.backlog).toMatchObject({ degraded: false, holding: false });
    expect(t.logs()).toContain('ingest recovered');
    expect((await request(t.url).get('/metrics')).text).toMatch(/^switchboard_ingest_degraded 0$/m);
  });
});
