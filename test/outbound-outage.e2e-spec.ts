import request from 'supertest';
import { QueueName } from '../src/platform/queue/queue-names';
import { TcpProxy } from './support/tcp-proxy';
import { openQueue, startTestApp } from './support/test-app';
import { createTestDatabase } from './support/test-database';
import { waitFor } from './support/wait';
import { WebhookReceiver } from './support/webhook-receiver';

const OPS = 'sb_ops_outage-test-key-0123456789abcdef';

describe('outbound deliveries while Postgres is unreachable', () => {
  it('waits for Postgres without using an attempt, then delivers (same webhook-id); a delivery of the batch already handed off to its retry is not sent twice', async () => {
    const receiver = new WebhookReceiver();
    await receiver.start();
    const db = await createTestDatabase();
    const proxy = new TcpProxy('127.0.0.1', 5432);
    const port = await proxy.start();
    const t = await startTestApp({
      db,
      env: {
        DATABASE_URL: db.url.replace('127.0.0.1:5432', `127.0.0.1:${port}`),
        OPS_API_KEYS: OPS,
        OUTBOUND_ALLOW_PRIVATE_NETWORKS: 'true',
        OUTBOUND_RETRY_SCHEDULE: '0,3',
      },
    });
    const queue = openQueue(t, QueueName.OutboundDeliveries);
    try {
      const ops = { authorization: `Bearer ${OPS}` };
      // The subscriber answers slowly: Postgres goes away while the first attempt is in flight.
      receiver.on('/outage', () => ({ status: 200, delayMs: 300 }));
      // Same event, same batch: fails once, so the batch hands it off to its retry before Postgres goes.
      receiver.on('/flaky', (_, n) => (n === 1 ? { status: 500 } : { status: 200 }));
      const endpoint = await request(t.url)
        .post('/endpoints')
        .set(ops)
        .send({ url: receiver.url('/outage'), events: ['outage.test'] });
      expect(endpoint.status).toBe(201);
      const flaky = await request(t.url)
        .post('/endpoints')
        .set(ops)
        .send({ url: receiver.url('/flaky'), events: ['outage.test'] });
      const { body } = await request(t.url)
        .post('/events/outage.test')
        .set(ops)
        .send({ data: { n: 1 } });
      expect(body.endpointCount).toBe(2);
      const deliveries = async () =>
        (
          await db.pool.query(
            `SELECT id, endpoint_id, status, attempts FROM outbound_deliveries WHERE event_id = $1 ORDER BY id`,
            [body.eventId],
          )
        ).rows as { id: string; endpoint_id: string; status: string; attempts: number }[];
      await waitFor(() => receiver.at('/outage').length === 1);
      await waitFor(async () => (await deliveries()).some((d) => d.endpoint_id === flaky.body.id && d.attempts === 1));
      proxy.cut();
      const batch = await waitFor(
        async () => {
          const job = await queue.getJob(`b${(await deliveries())[0].id}`);
          return (await job?.getState()) === 'delayed' ? job : undefined;
        },
        { timeoutMs: 10_000 },
      );
      proxy.restore();

      const settled = await waitFor(
        async () => {
          const rows = await deliveries();
          return rows.every((d) => d.status === 'succeeded') ? rows : undefined;
        },
        { timeoutMs: 20_000, intervalMs: 100 },
      );
      const delivery = settled.find((d) => d.endpoint_id === endpoint.body.id)!;
      expect(delivery.attempts).toBe(1);
      expect(settled.find((d) => d.endpoint_id === flaky.body.id)!.attempts).toBe(2);
      // Its second request is the scheduled retry (3 s), not a resend by the batch's rerun.
      const [failedOnce, retried, ...more] = receiver.at('/flaky');
      expect(more).toHaveLength(0);
      expect(retried.at - failedOnce.at).toBeGreaterThanOrEqual(3000);
      // A job completes just after its deliveries are recorded.
      const completed = (id: string) =>
        waitFor(async () => {
          const found = await queue.getJob(id);
          return (await found?.getState()) === 'completed' ? found : undefined;
        });
      const rerun = await completed(batch.id!);
      // Both were still pending when it ran again; the flaky one's job id was already taken by its retry.
      expect(rerun?.returnvalue).toMatchObject({ handedOff: 2, delivered: 0 });
      expect(rerun?.attemptsStarted).toBe(2);
      const got = receiver.at('/outage');
      expect(got.length).toBeGreaterThanOrEqual(2);
      expect(new Set(got.map((r) => r.headers['webhook-id']))).toEqual(new Set([body.eventId]));
      expect((await queue.getJobCounts('failed')).failed).toBe(0);
      const job = await completed(`d${delivery.id}-0`);
      // BullMQ counts the completion itself: 1 means no attempt was spent on the outage.
      expect(job?.attemptsMade).toBe(1);
      expect(t.logs()).not.toContain('delivery run failed');
    } finally {
      proxy.restore();
      await queue.close();
      await t.close();
      await proxy.stop();
      await db.drop();
      await receiver.stop();
    }
  });
});
