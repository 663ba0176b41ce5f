import request from 'supertest';
import { DataCipher } from '../src/common/data-cipher';
import { startTestApp, TestApp } from './support/test-app';
import { waitFor } from './support/wait';
import { WebhookReceiver } from './support/webhook-receiver';

const OPS = 'sb_ops_outbound-hardening-test-key-0001';
const PUBLISHER = 'sb_publisher_outbound-hardening-test-key-0001';
const BREAKER_THRESHOLD = 10;

describe('outbound hardening: stored headers, subscriber answers, secret rotation', () => {
  let t: TestApp;
  const receiver = new WebhookReceiver();

  beforeAll(async () => {
    await receiver.start();
    t = await startTestApp({
      env: {
        OPS_API_KEYS: OPS,
        PUBLISHER_API_KEYS: PUBLISHER,
        OUTBOUND_ALLOW_PRIVATE_NETWORKS: 'true',
        OUTBOUND_RETRY_SCHEDULE: '0,0.05,0.1',
        OUTBOUND_BREAKER_THRESHOLD: String(BREAKER_THRESHOLD),
        OUTBOUND_TIMEOUT_MS: '500',
        // A small pool per origin: a few refused requests used to wedge it.
        OUTBOUND_WORKER_CONCURRENCY: '2',
        OUTBOUND_ENDPOINT_CONCURRENCY: '2',
      },
    });
  });
  afterAll(async () => {
    await t?.close();
    await receiver.stop();
  });

  const ops = () => ({ authorization: `Bearer ${OPS}` });
  const rows = async <T = Record<string, unknown>>(sql: string, params: unknown[] = []) =>
    (await t.db.pool.query(sql, params)).rows as T[];

  async function createEndpoint(path: string, events: string[], extra: Record<string, unknown> = {}) {
    const res = await request(t.url)
      .post('/endpoints')
      .set(ops())
      .send({ url: receiver.url(path), events, ...extra });
    expect(res.status).toBe(201);
    return res.body as { id: string; secret: string; status: string };
  }

  async function trigger(eventType: string, data: unknown) {
    const res = await request(t.url)
      .post(`/events/${eventType}`)
      .set({ authorization: `Bearer ${PUBLISHER}` })
      .send({ data });
    expect(res.status).toBe(202);
    return res.body as { eventId: string; endpointCount: number };
  }

  describe('custom headers', () => {
    const refused: Array<[string, Record<string, unknown>]> = [
      ['connection', { Connection: 'close' }],
      ['keep-alive', { 'keep-alive': 'timeout=5' }],
      ['upgrade', { Upgrade: 'websocket' }],
      ['expect', { Expect: '100-continue' }],
      ['transfer-encoding', { 'transfer-encoding': 'chunked' }],
      ['te', { TE: 'trailers' }],
      ['host', { Host: 'elsewhere.example' }],
      ['content-length', { 'Content-Length': '1' }],
      ['webhook-signature', { 'webhook-signature': 'v1,forged' }],
      ['x-crlf', { 'x-crlf': 'a\r\nx-injected: 1' }],
      ['x-nul', { 'x-nul': 'a\u0000b' }],
      ['x-wide', { 'x-wide': 'price in €' }],
      ['x-number', { 'x-number': 42 }],
      ['bad name', { 'bad name': 'x' }],
      ['x(y)', { 'x(y)': 'x' }],
    ];

    it.each(refused)('refuses %s on create and on PATCH, naming it', async (name, headers) => {
      const created = await request(t.url)
        .post('/endpoints')
        .set(ops())
        .send({ url: receiver.url('/h'), events: ['h.x'], headers });
      expect(created.status).toBe(400);
      expect(String(created.body.message).toLowerCase()).toContain(name.toLowerCase());

      const endpoint = await createEndpoint('/h', ['h.x'], { headers: { 'X-Api-Key': 'k' } });
      const patched = await request(t.url).patch(`/endpoints/${endpoint.id}`).set(ops()).send({ headers });
      expect(patched.status).toBe(400);
      expect(String(patched.body.message).toLowerCase()).toContain(name.toLowerCase());
      expect((await request(t.url).get(`/endpoints/${endpoint.id}`).set(ops())).body.headers).toEqual({
        'x-api-key': 'k',
      });
      await request(t.url).delete(`/endpoints/${endpoint.id}`).set(ops());
    });

    it('keeps delivering to a healthy endpoint that shares its origin with one holding a header undici refuses', async () => {
      // As an older install may hold it: stored before the headers were checked.
      const bad = await createEndpoint('/wedge/bad', ['wedge.bad']);
      const cipher = new DataCipher(t.config.encryptionKey);
      await t.db.pool.query(
        `UPDATE outbound_endpoints SET headers_sealed = $2, sealed_version = sealed_version + 1 WHERE id = $1`,
        [bad.id, cipher.encryptJson({ expect: '100-continue', upgrade: 'h2c' })],
      );
      const healthy = await createEndpoint('/wedge/good', ['wedge.good']);

      for (let i = 0; i < 6; i++) await trigger('wedge.bad', { i });
      const count = 12;
      for (let i = 0; i < count; i++) await trigger('wedge.good', { i });

      await waitFor(() => receiver.at('/wedge/good').length >= count, {
        timeoutMs: 10_000,
        message: 'every delivery to the healthy endpoint',
      });
      const [good] = await rows<{ status: string; consecutive_failures: number }>(
        `SELECT status, consecutive_failures FROM outbound_endpoints WHERE id = $1`,
        [healthy.id],
      );
      expect(good).toEqual({ status: 'active', consecutive_failures: 0 });
      // The bad endpoint's deliveries fail at once, as ours (never sent, never retried).
      expect(receiver.at('/wedge/bad')).toHaveLength(0);
      const letters = await waitFor(() =>
        rows<{ category: string; attempts: number }>(
          `SELECT category, attempts FROM dead_letters WHERE endpoint_id = $1`,
          [bad.id],
        ).then((r) => (r.length === 6 ? r : undefined)),
      );
      expect(new Set(letters.map((letter) => `${letter.category}/${letter.attempts}`))).toEqual(
        new Set(['invalid_request/1']),
      );
    });
  });
});
