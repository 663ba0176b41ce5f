import { Queue } from 'bullmq';
import request from 'supertest';
import { QueueName } from '../src/platform/queue/queue-names';
import { openQueue, startTestApp, TestApp } from './support/test-app';
import { waitFor } from './support/wait';
import { WebhookReceiver } from './support/webhook-receiver';

const OPS = 'sb_ops_api-only-test-key-0123456789abcdef';

describe('outbound in an API-only process (WORKERS_ENABLED=false)', () => {
  let t: TestApp;
  let queue: Queue;
  const receiver = new WebhookReceiver();

  beforeAll(async () => {
    await receiver.start();
    t = await startTestApp({
      env: { OPS_API_KEYS: OPS, WORKERS_ENABLED: 'false', OUTBOUND_ALLOW_PRIVATE_NETWORKS: 'true' },
    });
    queue = openQueue(t, QueueName.OutboundDeliveries);
  });
  afterAll(async () => {
    await queue?.close();
    await t?.close();
    await receiver.stop();
  });

  it('accepts and queues the event, and never delivers it itself', async () => {
    const ops = { authorization: `Bearer ${OPS}` };
    await request(t.url)
      .post('/endpoints')
      .set(ops)
      .send({ url: receiver.url('/api-only'), events: ['apionly.test'] })
      .expect(201);
    const triggered = await request(t.url)
      .post('/events/apionly.test')
      .set(ops)
      .send({ data: { n: 1 } });
    expect(triggered.status).toBe(202);
    expect(triggered.body.endpointCount).toBe(1);
    await waitFor(async () => (await queue.getJobCounts('waiting', 'prioritized')).prioritized === 1);
    // Watched for a second: nothing in this process consumes the queue.
    const until = Date.now() + 1000;
    while (Date.now() < until) {
      expect(receiver.received).toHaveLength(0);
      expect((await queue.getJobCounts('active')).active).toBe(0);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });
});
