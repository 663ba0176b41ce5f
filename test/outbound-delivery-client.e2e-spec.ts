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

  it("sends the body and headers, and keeps the first 2 KB of a failure's long answer", async () => {
    receiver.on('/long?q=1', () => ({ status: 500, body: 'x'.repeat(200_000) }));
    const response = await post('/long?q=1');
    expect(response.statusCode).toBe(500);
    expect(response.kept?.toString()).toBe('x'.repeat(2048));
    expect(response.bodyBytes).toBeGreaterThan(64 * 1024);
    const [got] = receiver.at('/long?q=1');
    expect(got.body).toBe('{"a":1}');
    expect(got.headers['content-type']).toBe('application/json');
    // The pool still works after a connection was dropped mid-answer.
    expect((await post('/after-long')).statusCode).toBe(200);
  });

  it("keeps only the length of a success's answer, whatever it holds", async () => {
    receiver.on('/ok-nul', () => ({ status: 200, body: 'ok\u0000done' }));
    expect(await post('/ok-nul')).toMatchObject({ statusCode: 200, kept: null, bodyBytes: 7 });
  });

  it('reads the status and Retry-After of a throttled answer', async () => {
    receiver.on('/throttled', () => ({ status: 429, headers: { 'retry-after': '7' }, body: 'slow down' }));
    const response = await post('/throttled');
    expect(response).toMatchObject({ statusCode: 429, retryAfter: '7', kept: Buffer.from('slow down') });
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

  it('keeps sending to an origin after requests undici refuses before sending them (a bad stored header)', async () => {
    const small = new DeliveryClient(
      AppConfig.fromEnvironment({
        NODE_ENV: 'test',
        OUTBOUND_ALLOW_PRIVATE_NETWORKS: 'true',
        OUTBOUND_WORKER_CONCURRENCY: '2',
      }),
    );
    try {
      // More refused requests than the origin's pool has connections: each used to leave one slot busy for good.
      for (const header of ['expect', 'upgrade', 'keep-alive', 'transfer-encoding']) {
        const error = await small
          .post({ url: receiver.url('/refused'), headers: [header, 'x'], body: '{}', timeoutMs: 1000 })
          .then(
            () => undefined,
            (failure: unknown) => failure,
          );
        expect(classifyTransport(error)).toMatchObject({ category: 'invalid_request' });
      }
      const healthy = await Promise.all(
        [1, 2, 3].map(() =>
          small.post({ url: receiver.url('/healthy'), headers: ['x-ok', '1'], body: '{}', timeoutMs: 1000 }),
        ),
      );
      expect(healthy.map((response) => response.statusCode)).toEqual([200, 200, 200]);
      expect(receiver.at('/refused')).toHaveLength(0);
    } finally {
      await small.onApplicationShutdown();
    }
  });

  it('keeps sending to an origin after a request undici refuses once it leaves the pool queue', async () => {
    const single = new DeliveryClient(
      AppConfig.fromEnvironment({
        NODE_ENV: 'test',
        OUTBOUND_ALLOW_PRIVATE_NETWORKS: 'true',
        OUTBOUND_WORKER_CONCURRENCY: '1',
      }),
    );
    receiver.on('/slow', () => ({ status: 200, delayMs: 200 }));
    const send = (path: string, headers: string[]) =>
      single.post({ url: receiver.url(path), headers, body: '{}', timeoutMs: 1000 });
    try {
      // The only connection is busy: the refused request waits in the pool's queue, and fails when it leaves it.
      const slow = send('/slow', []);
      const refused = send('/refused-later', ['expect', '100-continue']).then(
        () => undefined,
        (failure: unknown) => failure,
      );
      expect((await slow).statusCode).toBe(200);
      expect(classifyTransport(await refused)).toMatchObject({ category: 'invalid_request' });
      expect((await send('/after-refused', [])).statusCode).toBe(200);
    } finally {
      await single.onApplicationShutdown();
    }
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
