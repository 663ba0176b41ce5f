import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import request from 'supertest';
import { hashApiKey } from '../src/platform/auth/api-key';
import { isKeyProtectedRoute } from '../src/platform/auth/api-key.hook';
import { UI_CONTENT_SECURITY_POLICY } from '../src/ui/ui.controller';
import { postWebhook, startTestApp, TEST_VERIFY_TOKEN, TestApp } from './support/test-app';
import { waitFor } from './support/wait';

const OPS = 'sb_ops_http-hardening-test-key-00000001';
const PUBLISHER = 'sb_publisher_http-hardening-test-key-0001';

/** A probe route: what Fastify believes about the client, which TRUST_PROXY decides. */
const probeClient = (t: { app: TestApp['app'] }) =>
  t.app
    .getHttpAdapter()
    .getInstance()
    .get('/probe/client', async (req) => ({ ip: req.ip, protocol: req.protocol }));

/**
 * Sends a request's head declaring `contentLength` body bytes, and only `sent` of them; resolves with the
 * answer's status line and body if one comes before the body is complete (null after `waitMs`).
 */
function answerBeforeBody(
  url: string,
  head: { method: string; path: string; headers: Record<string, string> },
  contentLength: number,
  sent: number,
  waitMs = 3000,
): Promise<{ status: number; body: string } | null> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let received = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(null);
    }, waitMs);
    socket.on('error', reject);
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1');
      const end = received.indexOf('\r\n\r\n');
      const length = /content-length: (\d+)/i.exec(received)?.[1];
      if (end >= 0 && length && received.length >= end + 4 + Number(length)) {
        clearTimeout(timer);
        socket.destroy();
        resolve({ status: Number(received.slice(9, 12)), body: received.slice(end + 4, end + 4 + Number(length)) });
      }
    });
    const lines = Object.entries({
      ...head.headers,
      host: `${hostname}:${port}`,
      'content-length': String(contentLength),
    })
      .map(([name, value]) => `${name}: ${value}`)
      .join('\r\n');
    socket.write(`${head.method} ${head.path} HTTP/1.1\r\n${lines}\r\n\r\n`);
    socket.write(Buffer.alloc(sent, 0x20));
  });
}

// First: the process's log lines go to the first app's log file.
describe('HTTP hardening in production: trusted proxies from TRUST_PROXY, /metrics open on purpose', () => {
  it('believes the configured proxy, and says at boot that /metrics is open with METRICS_PUBLIC=true', async () => {
    const t = await startTestApp({
      env: { NODE_ENV: 'production', METRICS_PUBLIC: 'true', TRUST_PROXY: '127.0.0.1', WORKERS_ENABLED: 'false' },
      beforeListen: (app) => probeClient({ app }),
    });
    try {
      const res = await request(t.url)
        .get('/probe/client')
        .set('x-forwarded-for', '203.0.113.9')
        .set('x-forwarded-proto', 'https');
      expect(res.body).toEqual({ ip: '203.0.113.9', protocol: 'https' });
      expect((await request(t.url).get('/metrics')).status).toBe(200);
      await waitFor(() => t.logs().includes('GET /metrics is open to anyone, on purpose (METRICS_PUBLIC=true'), {
        message: 'the boot line saying /metrics is open',
      });
    } finally {
      await t.close();
    }
  });
});

describe('HTTP hardening: security headers, trusted proxies, API keys before bodies, body limits', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({
      // The production app above left its settings in process.env.
      env: {
        OPS_API_KEYS: OPS,
        PUBLISHER_API_KEYS: PUBLISHER,
        WORKERS_ENABLED: 'false',
        TRUST_PROXY: 'false',
        METRICS_PUBLIC: 'false',
      },
      beforeListen: (app) => probeClient({ app }),
    });
  });
  afterAll(() => t?.close());

  describe('security headers', () => {
    const expectSecured = (res: request.Response) => {
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['x-frame-options']).toBe('DENY');
      expect(res.headers['referrer-policy']).toBe('no-referrer');
      expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    };

    it('are on every answer: JSON, errors, 404s', async () => {
      expectSecured(await request(t.url).get('/health'));
      expectSecured(await request(t.url).get('/admin/queues'));
      expectSecured(await request(t.url).get('/no/such/route'));
      expectSecured(await postWebhook(t, '{}').set('x-hub-signature-256', 'sha256=00'));
    });

    it("serve the handshake's reflected challenge as text/plain, never sniffed", async () => {
      const res = await request(t.url)
        .get('/webhooks/instagram')
        .query({ 'hub.mode': 'subscribe', 'hub.verify_token': TEST_VERIFY_TOKEN, 'hub.challenge': '<b>hi</b>' });
      expect(res.status).toBe(200);
      expect(res.text).toBe('<b>hi</b>');
      expect(res.headers['content-type']).toMatch(/^text\/plain/);
      expectSecured(res);
    });

    it('leave /ui its own policy and /docs (Swagger UI) working', async () => {
      const ui = await request(t.url).get('/ui');
      expect(ui.status).toBe(200);
      expect(ui.headers['content-security-policy']).toBe(UI_CONTENT_SECURITY_POLICY);
      expectSecured(ui);
      const docs = await request(t.url).get('/docs');
      expect(docs.status).toBe(200);
      expect(docs.text).toContain('swagger-ui');
      expect(docs.headers['content-security-policy']).toBe("frame-ancestors 'none'");
      const script = await request(t.url).get('/docs/swagger-ui-init.js');
      expect(script.status).toBe(200);
      expect(script.text).toContain('"/metrics"');
    });
  });

  describe('proxies', () => {
    it('believes no X-Forwarded-* header unless TRUST_PROXY says so', async () => {
      const res = await request(t.url)
        .get('/probe/client')
        .set('x-forwarded-for', '203.0.113.9')
        .set('x-forwarded-proto', 'https');
      expect(res.body).toEqual({ ip: '127.0.0.1', protocol: 'http' });
    });
  });

  describe('API keys before bodies', () => {
    it('answers 401 to a 5 MB admin body without a key before reading it', async () => {
      const answer = await answerBeforeBody(
        t.url,
        { method: 'POST', path: '/endpoints', headers: { 'content-type': 'application/json' } },
        5 * 1024 * 1024,
        1024,
      );
      expect(answer?.status).toBe(401);
      expect(JSON.parse(answer!.body)).toEqual({
        statusCode: 401,
        error: 'Unauthorized',
        message: expect.stringContaining('API key'),
        correlationId: expect.any(String),
      });
      const wrongKey = await answerBeforeBody(
        t.url,
        {
          method: 'POST',
          path: '/admin/dead-letters/replay',
          headers: { 'content-type': 'application/json', authorization: 'Bearer not-a-key' },
        },
        5 * 1024 * 1024,
        0,
      );
      expect(wrongKey?.status).toBe(401);
    });

    it('answers 413 to an admin body over ADMIN_MAX_BODY_BYTES with a key, before reading it', async () => {
      const answer = await answerBeforeBody(
        t.url,
        {
          method: 'POST',
          path: '/events/order.created',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${OPS}` },
        },
        5 * 1024 * 1024,
        1024,
      );
      expect(answer?.status).toBe(413);
      expect(JSON.parse(answer!.body)).toMatchObject({ statusCode: 413, correlationId: expect.any(String) });
    });

    it('still takes webhook bodies up to MAX_BODY_BYTES, and admin bodies under the limit', async () => {
      const big = postWebhook(t, JSON.stringify({ object: 'instagram', entry: [], pad: 'x'.repeat(2 * 1024 * 1024) }));
      expect((await big).status).toBe(200);
      const small = await request(t.url)
        .post('/endpoints')
        .set('authorization', `Bearer ${OPS}`)
        .send({ url: 'https://crm.example.com/hook', events: ['*'], description: 'd'.repeat(400) });
      expect(small.status).toBe(201);
    });

    it('keeps the role check: 403 for a key of the wrong role', async () => {
      const res = await request(t.url).get('/endpoints').set('authorization', `Bearer ${PUBLISHER}`);
      expect(res.status).toBe(403);
    });

    it('covers every route that needs a key (each one documented with bearer auth)', async () => {
      const document = (await request(t.url).get('/docs-json')).body as {
        paths: Record<string, Record<string, { security?: unknown[] }>>;
      };
      const keyed = Object.entries(document.paths)
        .filter(([, operations]) => Object.values(operations).some((operation) => operation.security?.length))
        .map(([path]) => path)
        .filter((path) => path !== '/metrics');
      expect(keyed.length).toBeGreaterThan(10);
      expect(keyed.filter((path) => !isKeyProtectedRoute(path))).toEqual([]);
    });
  });

  describe('last_used_at', () => {
    it('is written at most once a minute per key, and a revoked key is refused at once', async () => {
      const key = `sb_ops_${randomBytes(32).toString('base64url')}`;
      await t.db.pool.query(
        `INSERT INTO api_keys (id, name, role, key_hash, key_prefix)
         VALUES ('00000000-0000-7000-8000-0000000000aa', 'throttle', 'ops', $1, 'sb_ops_xxxxxx')`,
        [hashApiKey(key)],
      );
      const lastUsed = async () =>
        (await t.db.pool.query(`SELECT last_used_at FROM api_keys WHERE name = 'throttle'`)).rows[0]
          .last_used_at as Date | null;
      const call = () => request(t.url).get('/admin/queues').set('authorization', `Bearer ${key}`);

      expect((await call()).status).toBe(200);
      const first = await lastUsed();
      expect(first).not.toBeNull();
      for (let i = 0; i < 3; i++) expect((await call()).status).toBe(200);
      expect(await lastUsed()).toEqual(first);

      await t.db.pool.query(`UPDATE api_keys SET last_used_at = now() - interval '61 seconds' WHERE name = 'throttle'`);
      const stale = await lastUsed();
      expect((await call()).status).toBe(200);
      expect((await lastUsed())!.getTime()).toBeGreaterThan(stale!.getTime() + 60_000);

      await t.db.pool.query(`UPDATE api_keys SET revoked_at = now() WHERE name = 'throttle'`);
      expect((await call()).status).toBe(401);
    });
  });
});
