import { INestApplicationContext } from '@nestjs/common';
import { Queue } from 'bullmq';
import request from 'supertest';
import { createWorkerApp } from '../src/bootstrap';
import { AppConfig } from '../src/platform/config/app-config';
import { InboundEventProducer } from '../src/inbound/queue/inbound-event.producer';
import { instagramEnvelope, messagingItem, sign } from './support/meta-payloads';
import { startTestApp, TEST_APP_SECRET, TestApp } from './support/test-app';
import { waitFor } from './support/wait';

describe('API-only process and the standalone worker', () => {
  let api: TestApp;
  let queue: Queue;
  let worker: INestApplicationContext | undefined;

  beforeAll(async () => {
    api = await startTestApp({ env: { WORKERS_ENABLED: 'false', SHUTDOWN_TIMEOUT_MS: '10000' } });
    queue = api.app.get(InboundEventProducer).queue;
  });
  afterAll(async () => {
    await worker?.close();
    await api?.close();
  });

  const post = (body: string) =>
    request(api.url)
      .post('/webhooks/instagram')
      .set('content-type', 'application/json')
      .set('x-hub-signature-256', sign(body, TEST_APP_SECRET))
      .send(body);
  const status = async (mid: string) =>
    (await api.db.pool.query(`SELECT status FROM inbound_events WHERE meta_message_id = $1`, [mid])).rows[0]?.status as
      string | undefined;

  it('an API process with WORKERS_ENABLED=false stores and enqueues but never consumes', async () => {
    expect(
      (await post(instagramEnvelope([messagingItem({ mid: 'm_api_only', sender: 'p-api-only', text: 'x' })]))).status,
    ).toBe(200);
    await waitFor(async () => (await queue.getJobCounts('waiting')).waiting === 1, { message: 'job waiting' });
    // Give a consumer, if there were one, several chances to take it.
    await waitFor(
      async () => (await queue.getJobCounts('waiting')).waiting === 1 && (await status('m_api_only')) === 'received',
    );
    expect(api.graph.requests).toHaveLength(0);
  });

  it('the standalone worker (src/worker.ts composition) processes what the API stored', async () => {
    worker = await createWorkerApp(AppConfig.fromEnvironment(process.env));
    await worker.init();
    await waitFor(async () => (await status('m_api_only')) === 'processed', { message: 'processed by the worker' });
    expect(api.graph.repliesTo('p-api-only')).toHaveLength(1);
  });

  it('drains on shutdown: a job in flight finishes before the worker closes', async () => {
    api.graph.answerNext({ status: 200, delayMs: 1500 });
    expect(
      (await post(instagramEnvelope([messagingItem({ mid: 'm_drain', sender: 'p-drain', text: 'x' })]))).status,
    ).toBe(200);
    await waitFor(() => api.graph.repliesTo('p-drain').length === 1, { message: 'reply in flight' });
    await worker!.close();
    worker = undefined;
    expect(await status('m_drain')).toBe('processed');
    const { rows } = await api.db.pool.query(
      `SELECT r.status FROM replies r JOIN inbound_events e ON e.id = r.event_id WHERE e.meta_message_id = 'm_drain'`,
    );
    expect(rows[0].status).toBe('sent');
  });
});
