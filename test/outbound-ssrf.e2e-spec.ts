import request from 'supertest';
import { startTestApp, TestApp } from './support/test-app';
import { waitFor } from './support/wait';
import { WebhookReceiver } from './support/webhook-receiver';

const OPS = 'sb_ops_ssrf-test-key-0123456789abcdef';

describe('outbound SSRF guard (OUTBOUND_ALLOW_PRIVATE_NETWORKS=false)', () => {
  let t: TestApp;
  const receiver = new WebhookReceiver();

  beforeAll(async () => {
    await receiver.start('127.0.0.1');
    t = await startTestApp({
      env: {
        OPS_API_KEYS: OPS,
        OUTBOUND_ALLOW_PRIVATE_NETWORKS: 'false',
        OUTBOUND_RETRY_SCHEDULE: '0,0.05',
        OUTBOUND_TIMEOUT_MS: '3000',
      },
    });
  });
  afterAll(async () => {
    await t?.close();
    await receiver.stop();
  });

  const ops = { authorization: `Bearer ${OPS}` };
  const rows = async <T = Record<string, unknown>>(sql: string, params: unknown[] = []) =>
    (await t.db.pool.query(sql, params)).rows as T[];

  it.each([
    ['the cloud metadata address', 'http://169.254.169.254/latest/meta-data/'],
    ['a private address', 'http://10.0.0.1:8080/hook'],
    ['a name resolving to loopback', 'LOCALHOST'],
    ['a loopback literal', 'LOOPBACK'],
    ['IPv6 loopback', 'http://[::1]:9/hook'],
    ['an IPv4-mapped IPv6 loopback', 'http://[::ffff:127.0.0.1]:9/hook'],
    ['0.0.0.0', 'http://0.0.0.0:9/hook'],
    ['CGNAT space', 'http://100.64.0.1/hook'],
  ])('refuses %s before any packet is sent, and dead-letters the delivery as blocked', async (_, target) => {
    const url =
      target === 'LOCALHOST'
        ? receiver.url('/ssrf', 'localhost')
        : target === 'LOOPBACK'
          ? receiver.url('/ssrf', '127.0.0.1')
          : target;
    const created = await request(t.url)
      .post('/endpoints')
      .set(ops)
      .send({ url, events: ['ssrf.probe'] });
    expect(created.status).toBe(201);
    const triggered = await request(t.url)
      .post('/events/ssrf.probe')
      .set(ops)
      .send({ data: { probe: true } });
    expect(triggered.body.endpointCount).toBe(1);

    const [attempt] = await waitFor(() =>
      rows<{ category: string; duration_ms: number; response_code: number | null }>(
        `SELECT category, duration_ms, response_code FROM outbound_attempts WHERE endpoint_id = $1`,
        [created.body.id],
      ).then((r) => (r.length ? r : undefined)),
    );
    expect(attempt).toMatchObject({ category: 'blocked', response_code: null });
    // Refused on the address, not after a connect attempt timed out.
    expect(attempt.duration_ms).toBeLessThan(1000);
    const [letter] = await waitFor(() =>
      rows<{ category: string; attempts: number }>(
        `SELECT category, attempts FROM dead_letters WHERE endpoint_id = $1`,
        [created.body.id],
      ).then((r) => (r.length ? r : undefined)),
    );
    expect(letter).toEqual({ category: 'blocked', attempts: 1 });
    // Only one endpoint may be active per probe type: the next case creates its own.
    await request(t.url).delete(`/endpoints/${created.body.id}`).set(ops);
  });

  it('never opened a connection to the loopback receiver', () => {
    expect(receiver.connections).toBe(0);
    expect(receiver.received).toHaveLength(0);
  });
});
