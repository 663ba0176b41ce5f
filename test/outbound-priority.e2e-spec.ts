import request from 'supertest';
import { startTestApp, TestApp } from './support/test-app';
import { waitFor } from './support/wait';
import { verifyDelivery, WebhookReceiver } from './support/webhook-receiver';

const OPS = 'sb_ops_priority-test-key-0123456789abcdef';

describe('outbound priorities with a backlog (ten deliveries in flight, ten batches taken)', () => {
  let t: TestApp;
  const receiver = new WebhookReceiver();

  beforeAll(async () => {
    await receiver.start();
    t = await startTestApp({
      env: { OPS_API_KEYS: OPS, OUTBOUND_ALLOW_PRIVATE_NETWORKS: 'true', OUTBOUND_WORKER_CONCURRENCY: '10' },
    });
  });
  afterAll(async () => {
    await t?.close();
    await receiver.stop();
  });

  it('delivers an urgent event ahead of the low-priority backlog queued before it', async () => {
    const ops = { authorization: `Bearer ${OPS}` };
    const endpoints: { id: string; secret: string }[] = [];
    for (let i = 0; i < 20; i++) {
      receiver.on(`/prio/${i}`, () => ({ status: 200, delayMs: 25 }));
      const res = await request(t.url)
        .post('/endpoints')
        .set(ops)
        .send({ url: receiver.url(`/prio/${i}`), events: ['prio.test'] });
      endpoints.push(res.body as { id: string; secret: string });
    }
    const publish = async (priority: string, n: number) =>
      (await request(t.url).post('/events/prio.test').set(ops).send({ data: { priority, n }, priority })).body as {
        eventId: string;
        endpointCount: number;
      };
    // 10 × 20 low deliveries at 10 in flight and 25 ms each: half a second of backlog, all of it taken by the worker.
    for (let n = 0; n < 10; n++) expect((await publish('low', n)).endpointCount).toBe(20);
    const urgent = await publish('urgent', 0);
    await waitFor(() => receiver.received.filter((r) => r.path.startsWith('/prio/')).length === 220, {
      timeoutMs: 30_000,
    });

    const arrivals = receiver.received.filter((r) => r.path.startsWith('/prio/'));
    const isUrgent = arrivals.map((r) => r.headers['webhook-id'] === urgent.eventId);
    const lastUrgent = isUrgent.lastIndexOf(true);
    const lowAfterLastUrgent = isUrgent.slice(lastUrgent).filter((u) => !u).length;
    // The low deliveries this worker already holds wait while the urgent ones go (first come, first served would send none after).
    expect(lowAfterLastUrgent).toBeGreaterThanOrEqual(60);
    arrivals.forEach((r) => verifyDelivery(endpoints[Number(r.path.split('/')[2])].secret, r));
  });
});
