import { Queue } from 'bullmq';
import request from 'supertest';
import { JobName, QueueName } from '../src/platform/queue/queue-names';
import { deleteKeys, openQueue, startTestApp, TestApp } from './support/test-app';
import { waitFor } from './support/wait';
import { verifyDelivery, WebhookReceiver } from './support/webhook-receiver';

const OPS = 'sb_ops_redis-loss-test-key-0123456789abcdef';

/** What Redis restarted without persistence leaves: none of the test's keys (jobs, markers, limits). */
describe('outbound deliveries when Redis loses its jobs', () => {
  let t: TestApp;
  let queue: Queue;
  const receiver = new WebhookReceiver();

  beforeAll(async () => {
    await receiver.start();
    t = await startTestApp({
      env: { OPS_API_KEYS: OPS, OUTBOUND_ALLOW_PRIVATE_NETWORKS: 'true', OUTBOUND_RETRY_SCHEDULE: '0,2' },
    });
    queue = openQueue(t, QueueName.OutboundDeliveries);
  });
  afterAll(async () => {
    await queue?.close();
    await t?.close();
    await receiver.stop();
  });

  const ops = () => ({ authorization: `Bearer ${OPS}` });
  const delivery = async (eventId: string) =>
    (
      await t.db.pool.query(
        `SELECT d.id, d.status, d.attempts, d.requeues, e.dispatched_at
           FROM outbound_deliveries d JOIN outbound_events e ON e.id = d.event_id WHERE d.event_id = $1`,
        [eventId],
      )
    ).rows[0] as { id: string; status: string; attempts: number; requeues: number; dispatched_at: Date | null };

  async function endpoint(path: string, events: string[]) {
    const res = await request(t.url)
      .post('/endpoints')
      .set(ops())
      .send({ url: receiver.url(path), events });
    expect(res.status).toBe(201);
    return res.body as { id: string; secret: string };
  }

  async function trigger(eventType: string, body: Record<string, unknown>) {
    const res = await request(t.url).post(`/events/${eventType}`).set(ops()).send(body);
    expect(res.status).toBe(202);
    return res.body as { eventId: string };
  }

  it('re-queues the pending deliveries of dispatched events, each when it was due, and sends each once', async () => {
    const scheduled = await endpoint('/scheduled', ['loss.scheduled']);
    const retried = await endpoint('/retried', ['loss.retried']);
    receiver.on('/retried', (_, n) => (n === 1 ? { status: 500 } : { status: 200 }));
    // The relay's first pass has written its marker: from here on a missing marker means lost data.
    await waitFor(() => t.redis.get(`${t.prefix}:outbound:epoch`), { message: 'first outbound relay pass' });

    const deliverAt = Date.now() + 3000;
    const later = await trigger('loss.scheduled', { data: { n: 1 }, deliverAt: new Date(deliverAt).toISOString() });
    const failing = await trigger('loss.retried', { data: { n: 2 } });
    // One waits for its deliverAt (a delayed batch job), the other for its retry (a delayed single job).
    await waitFor(async () => (await delivery(later.eventId)).dispatched_at !== null);
    await waitFor(async () => (await delivery(failing.eventId)).attempts === 1, { timeoutMs: 10_000 });
    // The failed attempt is committed before its retry job is handed off: wait for both jobs to be in Redis.
    await waitFor(
      async () => {
        const waiting = await queue.getJobCounts('delayed', 'prioritized', 'waiting');
        return waiting.delayed + waiting.prioritized + waiting.waiting >= 2;
      },
      { message: 'the scheduled batch and the retry waiting in Redis' },
    );

    // No count check here: the relay's next pass may already have re-queued a job by the time one would run
    // (CI saw 1). That the loss was seen and repaired is the log line asserted at the end.
    await deleteKeys(t.redis, t.prefix);

    await waitFor(
      async () =>
        (await delivery(later.eventId)).status === 'succeeded' &&
        (await delivery(failing.eventId)).status === 'succeeded',
      { timeoutMs: 15_000, message: 'both deliveries succeed after the loss' },
    );
    const onScheduled = receiver.at('/scheduled');
    expect(onScheduled).toHaveLength(1);
    expect(onScheduled[0].at).toBeGreaterThanOrEqual(deliverAt - 50);
    expect(verifyDelivery(scheduled.secret, onScheduled[0]).data).toEqual({ n: 1 });
    const onRetried = receiver.at('/retried');
    expect(onRetried).toHaveLength(2);
    // The retry kept its schedule (2 s after the failed attempt) and its webhook-id.
    expect(onRetried[1].at - onRetried[0].at).toBeGreaterThanOrEqual(1900);
    expect(onRetried[1].headers['webhook-id']).toBe(onRetried[0].headers['webhook-id']);
    expect(verifyDelivery(retried.secret, onRetried[1]).data).toEqual({ n: 2 });
    expect(t.logs()).toContain('re-queued pending deliveries');
  });

  it('dead-letters a delivery whose job fails its last attempt on a fault of ours, instead of leaving it pending', async () => {
    await endpoint('/poisoned', ['loss.poisoned']);
    const deliverAt = Date.now() + 4000;
    const event = await trigger('loss.poisoned', { data: { n: 3 }, deliverAt: new Date(deliverAt).toISOString() });
    await waitFor(async () => (await delivery(event.eventId)).dispatched_at !== null);
    // The event's data no longer decrypts (a wrong key, a damaged row): every run of its delivery throws.
    await t.db.pool.query(`UPDATE outbound_events SET data_sealed = '\\x00'::bytea WHERE id = $1`, [event.eventId]);
    const { id } = await delivery(event.eventId);
    // A single job on its last attempt (production jobs get 5, 1 s apart and doubling: the same path, slower).
    await queue.add(JobName.DeliverOutbound, { deliveryId: id }, { jobId: `d${id}-0`, attempts: 1 });

    const letter = await waitFor(
      async () =>
        (
          await t.db.pool.query(
            `SELECT category, error, status, source FROM dead_letters WHERE delivery_id = $1::bigint`,
            [id],
          )
        ).rows[0] as { category: string; error: string; status: string; source: string } | undefined,
      { timeoutMs: 10_000, message: 'a dead letter for the delivery' },
    );
    expect(letter).toMatchObject({ source: 'outbound', status: 'pending' });
    expect((await delivery(event.eventId)).status).toBe('failed');
    const audit = await t.db.pool.query(
      `SELECT metadata FROM audit_log WHERE action = 'outbound.delivery_dead_lettered' AND event_id = $1`,
      [event.eventId],
    );
    expect(audit.rows[0].metadata).toMatchObject({ deliveryId: id, reason: 'job_attempts_exhausted' });
    // Its batch job, due at deliverAt, finds it closed and sends nothing.
    await waitFor(async () => (await queue.getJobCounts('delayed')).delayed === 0, { timeoutMs: 10_000 });
    await waitFor(async () => (await queue.getJobCounts('active', 'waiting', 'prioritized')).active === 0);
    expect(receiver.at('/poisoned')).toHaveLength(0);
  });
});
