import { randomBytes } from 'node:crypto';
import { Pool } from 'pg';
import request from 'supertest';
import { QueryRunner } from 'typeorm';
import { DataCipher, sealedIn } from '../src/platform/crypto/data-cipher';
import { OutboundAnswersSealed1763800001300 } from '../src/platform/database/migrations/1763800001300-outbound-answers-sealed';
import { EndpointPreviousSecrets1763800001400 } from '../src/platform/database/migrations/1763800001400-endpoint-previous-secrets';
import { startTestApp, TestApp } from './support/test-app';
import { createTestDatabase } from './support/test-database';
import { waitFor } from './support/wait';
import { verifyDelivery, WebhookReceiver } from './support/webhook-receiver';

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

  /** Every column of every table that holds `marker` readable, i.e. not sealed: "table.column" names. */
  async function columnsHoldingInTheClear(marker: string, pool: Pool = t.db.pool): Promise<string[]> {
    const rows = async <T>(sql: string, params: unknown[] = []) => (await pool.query(sql, params)).rows as T[];
    const columns = await rows<{ table_name: string; column_name: string; udt_name: string }>(
      `SELECT c.table_name, c.column_name, c.udt_name
         FROM information_schema.columns c
         JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
        WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'`,
    );
    const found: string[] = [];
    for (const { table_name: table, column_name: column, udt_name: type } of columns) {
      const holds =
        type === 'bytea'
          ? `position(convert_to($1, 'UTF8') in "${column}") > 0`
          : type === '_bytea'
            ? `EXISTS (SELECT 1 FROM unnest("${column}") b WHERE position(convert_to($1, 'UTF8') in b) > 0)`
            : `"${column}"::text LIKE '%' || $1 || '%'`;
      const [{ n }] = await rows<{ n: number }>(`SELECT count(*)::int AS n FROM "${table}" WHERE ${holds}`, [marker]);
      if (n > 0) found.push(`${table}.${column}`);
    }
    return found;
  }

  const deliveryOf = (endpointId: string, eventId: string) =>
    rows<{ id: string; status: string }>(
      `SELECT id, status FROM outbound_deliveries WHERE endpoint_id = $1 AND event_id = $2`,
      [endpointId, eventId],
    ).then((r) => r[0]);

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
      const cipher = new DataCipher(t.config.keyring);
      await t.db.pool.query(
        `UPDATE outbound_endpoints SET headers_sealed = $2, sealed_version = sealed_version + 1 WHERE id = $1`,
        [
          bad.id,
          cipher.encryptJson(
            { expect: '100-continue', upgrade: 'h2c' },
            sealedIn('outbound_endpoints.headers', bad.id),
          ),
        ],
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

  describe('subscriber answers', () => {
    it('records a 2xx whose answer holds a NUL as one success, and sends it once', async () => {
      receiver.on('/nul', () => ({ status: 200, body: 'accepted\u0000' }));
      const endpoint = await createEndpoint('/nul', ['nul.test']);
      const { eventId } = await trigger('nul.test', { n: 1 });
      await waitFor(() => deliveryOf(endpoint.id, eventId).then((d) => d?.status === 'succeeded'), {
        message: 'the success recorded',
      });
      const attempts = await rows(
        `SELECT status, response_code, response_bytes, response_sealed FROM outbound_attempts WHERE event_id = $1`,
        [eventId],
      );
      expect(attempts).toEqual([{ status: 'success', response_code: 200, response_bytes: 9, response_sealed: null }]);
      expect(receiver.at('/nul')).toHaveLength(1);
      expect(await rows(`SELECT 1 FROM dead_letters WHERE endpoint_id = $1`, [endpoint.id])).toHaveLength(0);
    });

    it('records every failed attempt whose answer holds a NUL, then dead-letters the delivery', async () => {
      receiver.on('/nul-fail', () => ({ status: 500, body: 'broken\u0000' }));
      const endpoint = await createEndpoint('/nul-fail', ['nul-fail.test']);
      const { eventId } = await trigger('nul-fail.test', { n: 1 });
      await waitFor(() => deliveryOf(endpoint.id, eventId).then((d) => d?.status === 'failed'));
      const attempts = await rows(
        `SELECT attempt, status, response_bytes FROM outbound_attempts WHERE event_id = $1 ORDER BY attempt`,
        [eventId],
      );
      expect(attempts).toEqual([1, 2, 3].map((attempt) => ({ attempt, status: 'failure', response_bytes: 7 })));
      expect(receiver.at('/nul-fail')).toHaveLength(3);
      expect(await rows(`SELECT category FROM dead_letters WHERE endpoint_id = $1`, [endpoint.id])).toEqual([
        { category: 'server_error' },
      ]);
    });

    it("keeps an echoing subscriber's copy of the event nowhere in the clear; ops open a failure's answer with a reason", async () => {
      const marker = `patient-marker-${randomBytes(6).toString('hex')}`;
      receiver.on('/echo/ok', (got) => ({ status: 200, body: got.body }));
      receiver.on('/echo/fail', (got) => ({ status: 422, body: got.body }));
      const ok = await createEndpoint('/echo/ok', ['echo.test']);
      const failing = await createEndpoint('/echo/fail', ['echo.test']);
      const { eventId } = await trigger('echo.test', { text: marker });
      await waitFor(() => deliveryOf(ok.id, eventId).then((d) => d?.status === 'succeeded'));
      await waitFor(() => deliveryOf(failing.id, eventId).then((d) => d?.status === 'failed'));
      expect(receiver.at('/echo/fail')).toHaveLength(3);

      expect(await columnsHoldingInTheClear(marker)).toEqual([]);

      const page = await request(t.url).get(`/endpoints/${failing.id}/attempts`).set(ops());
      expect(page.status).toBe(200);
      expect(JSON.stringify(page.body)).not.toContain(marker);
      const answered = Buffer.byteLength(receiver.at('/echo/fail')[0].body);
      expect(page.body.items).toHaveLength(3);
      for (const item of page.body.items) {
        expect(item).toMatchObject({
          status: 'failure',
          responseCode: 422,
          responseBytes: answered,
          responseKept: true,
        });
        expect(item).not.toHaveProperty('responseBody');
      }
      const okPage = await request(t.url).get(`/endpoints/${ok.id}/attempts`).set(ops());
      expect(okPage.body.items).toMatchObject([{ status: 'success', responseKept: false }]);

      const attemptId = page.body.items[0].id as string;
      const path = `/endpoints/${failing.id}/attempts/${attemptId}/response`;
      expect((await request(t.url).get(path).set(ops())).status).toBe(400);
      expect((await request(t.url).get(path).query({ reason: ' ' }).set(ops())).status).toBe(400);
      const opened = await request(t.url).get(path).query({ reason: 'subscriber rejects our payload' }).set(ops());
      expect(opened.status).toBe(200);
      expect(opened.body.body).toContain(marker);
      expect(Buffer.from(opened.body.bodyBase64, 'base64').toString()).toBe(opened.body.body);
      const audit = await rows<{ actor: string; metadata: Record<string, unknown> }>(
        `SELECT actor, metadata FROM audit_log WHERE action = 'outbound.attempt_response_viewed'`,
      );
      expect(audit).toEqual([
        {
          actor: 'env:ops:1',
          metadata: { endpointId: failing.id, attemptId, reason: 'subscriber rejects our payload' },
        },
      ]);
      const none = `/endpoints/${ok.id}/attempts/${okPage.body.items[0].id}/response`;
      expect((await request(t.url).get(none).query({ reason: 'x' }).set(ops())).status).toBe(404);
    });
  });

  describe('secret rotation', () => {
    const rotate = async (id: string) => {
      const res = await request(t.url).post(`/endpoints/${id}/rotate-secret`).set(ops());
      expect(res.status).toBe(200);
      return res.body.secret as string;
    };

    it('keeps every secret still inside its grace period signing, five at most', async () => {
      const endpoint = await createEndpoint('/rotate', ['rotate.test']);
      const secrets = [endpoint.secret, await rotate(endpoint.id), await rotate(endpoint.id)];
      await trigger('rotate.test', { n: 1 });
      const [first] = await waitFor(() => (receiver.at('/rotate').length ? receiver.at('/rotate') : undefined));
      expect(String(first.headers['webhook-signature']).split(' ')).toHaveLength(3);
      for (const secret of secrets) expect(verifyDelivery(secret, first).data).toEqual({ n: 1 });

      for (let i = 0; i < 4; i++) secrets.push(await rotate(endpoint.id));
      await trigger('rotate.test', { n: 2 });
      const [, second] = await waitFor(() => (receiver.at('/rotate').length >= 2 ? receiver.at('/rotate') : undefined));
      expect(String(second.headers['webhook-signature']).split(' ')).toHaveLength(5);
      for (const secret of secrets.slice(-5)) expect(verifyDelivery(secret, second).data).toEqual({ n: 2 });
      for (const secret of secrets.slice(0, 2)) expect(() => verifyDelivery(secret, second)).toThrow();
      const view = await request(t.url).get(`/endpoints/${endpoint.id}`).set(ops());
      expect(view.body.previousSecretsExpireAt).toHaveLength(4);
      expect(view.body.previousSecretExpiresAt).toBe(view.body.previousSecretsExpireAt[0]);
    });

    it('stops signing with a previous secret once its grace period has ended', async () => {
      const endpoint = await createEndpoint('/rotate-expired', ['rotate-expired.test']);
      const current = await rotate(endpoint.id);
      await t.db.pool.query(
        `UPDATE outbound_endpoints SET previous_secrets_until = ARRAY[now() - interval '1 second'],
                sealed_version = sealed_version + 1 WHERE id = $1`,
        [endpoint.id],
      );
      await trigger('rotate-expired.test', { n: 1 });
      const [got] = await waitFor(() =>
        receiver.at('/rotate-expired').length ? receiver.at('/rotate-expired') : undefined,
      );
      expect(String(got.headers['webhook-signature']).split(' ')).toHaveLength(1);
      expect(verifyDelivery(current, got).data).toEqual({ n: 1 });
      expect((await request(t.url).get(`/endpoints/${endpoint.id}`).set(ops())).body).toMatchObject({
        previousSecretExpiresAt: null,
        previousSecretsExpireAt: [],
      });
    });
  });

  describe('upgrading an install', () => {
    it("carries an endpoint's previous secret over, and drops the answers stored as text", async () => {
      const db = await createTestDatabase();
      const runner = {
        query: async (sql: string, params?: unknown[]) => (await db.pool.query(sql, params)).rows,
      } as unknown as QueryRunner;
      try {
        await new EndpointPreviousSecrets1763800001400().down(runner);
        await new OutboundAnswersSealed1763800001300().down(runner);
        const marker = `stored-answer-${randomBytes(6).toString('hex')}`;
        const previous = Buffer.from('sealed-previous-secret');
        await db.pool.query(
          `INSERT INTO outbound_endpoints (id, url, event_types, secret_sealed, previous_secret_sealed, previous_secret_until)
           VALUES ('00000000-0000-7000-8000-000000000001', 'https://a.example', '{*}', '\\x01', $1, now() + interval '1 hour'),
                  ('00000000-0000-7000-8000-000000000002', 'https://b.example', '{*}', '\\x01', $1, now() - interval '1 hour')`,
          [previous],
        );
        await db.pool.query(
          `INSERT INTO outbound_attempts (delivery_id, endpoint_id, event_id, attempt, status, response_code, duration_ms, response_body)
           VALUES (1, '00000000-0000-7000-8000-000000000001', '00000000-0000-7000-8000-000000000003', 1, 'failure', 422, 5, $1)`,
          [`echo: ${marker}`],
        );

        await new OutboundAnswersSealed1763800001300().up(runner);
        await new EndpointPreviousSecrets1763800001400().up(runner);

        const endpoints = (
          await db.pool.query(
            `SELECT url, previous_secrets_sealed, cardinality(previous_secrets_until) AS untils
               FROM outbound_endpoints ORDER BY url`,
          )
        ).rows;
        expect(endpoints).toEqual([
          { url: 'https://a.example', previous_secrets_sealed: [previous], untils: 1 },
          { url: 'https://b.example', previous_secrets_sealed: [], untils: 0 },
        ]);
        expect(
          (await db.pool.query(`SELECT response_code, response_bytes, response_sealed FROM outbound_attempts`)).rows,
        ).toEqual([{ response_code: 422, response_bytes: null, response_sealed: null }]);
        expect(await columnsHoldingInTheClear(marker, db.pool)).toEqual([]);
      } finally {
        await db.drop();
      }
    });
  });
});
