import { AppConfig } from '../src/platform/config/app-config';
import { classifyStatus, classifyTransport } from '../src/outbound/delivery/delivery-outcome';
import { DeliveryClient } from '../src/outbound/delivery/delivery.client';
import { WebhookReceiver } from './support/webhook-receiver';

describe('DeliveryClient against a real subscriber on loopback', () => {
  const receiver = new WebhookReceiver();
  const client = new DeliveryClient(
    AppConfig.fromEnvironment({
      NODE_ENV: 'test',
      OUTBOUND_ALLOW_PRIVATE_NETWORKS: 'true',
      OUTBOUND_TIMEOUT_MS: '2000',
    }),
  );
  const post = (path: string, timeoutMs = 2000) =>
    client.post({
      url: receiver.url(path),
      headers: { 'content-type': 'application/json' },
      body: '{"a":1}',
      timeoutMs,
    });

  beforeAll(() => receiver.start());
  afterAll(async () => {
    await client.onApplicationShutdown();
    await receiver.stop();
  });

  it('sends the body and headers, and keeps the first 2 KB of a long answer', async () => {
    receiver.on('/long?q=1', () => ({ status: 200, body: 'x'.repeat(200_000) }));
    const response = await post('/long?q=1');
    expect(response.statusCode).toBe(200);
    expect(response.bodyPrefix).toBe('x'.repeat(2048));
    const [got] = receiver.at('/long?q=1');
    expect(got.body).toBe('{"a":1}');
    expect(got.headers['content-type']).toBe('application/json');
    // The pool still works after a connection was dropped mid-answer.
    expect((await post('/after-long')).statusCode).toBe(200);
  });

  it('reads the status and Retry-After of a throttled answer', async () => {
    receiver.on('/throttled', () => ({ status: 429, headers: { 'retry-after': '7' }, body: 'slow down' }));
    const response = await post('/throttled');
    expect(response).toMatchObject({ statusCode: 429, retryAfter: '7', bodyPrefix: 'slow down' });
    expect(classifyStatus(response.statusCode, response.retryAfter)).toMatchObject({
      category: 'throttled',
      retryAfterMs: 7000,
    });
  });

  it('gives up on a subscriber that does not answer within the timeout, as a timeout', async () => {
    receiver.on('/hang', () => ({ status: 200, delayMs: 5000 }));
    const started = Date.now();
    const error = await post('/hang', 300).then(
      () => undefined,
      (failure: unknown) => failure,
    );
    expect(Date.now() - started).toBeLessThan(1500);
    expect(classifyTransport(error).category).toBe('timeout');
  });

  it('reports a refused connection as a network failure', async () => {
    const error = await client
      .post({ url: 'http://127.0.0.1:9/nothing', headers: {}, body: '{}', timeoutMs: 1000 })
      .then(
        () => undefined,
        (failure: unknown) => failure,
      );
    expect(classifyTransport(error).category).toBe('network');
  });
});
