import { connect } from 'node:net';
import request from 'supertest';
import { instagramEnvelope, messagingItem, sign } from './support/meta-payloads';
import { startTestApp, TEST_APP_SECRET, TestApp } from './support/test-app';
import { waitFor } from './support/wait';

const REQUEST_TIMEOUT_MS = 1000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('HTTP limits: slow clients and who picks the correlation id', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({
      env: {
        HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
        OPS_API_KEYS: 'ops-key-for-the-http-limits-test-0001',
      },
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('closes a POST whose body trickles in, within HTTP_REQUEST_TIMEOUT_MS', async () => {
    const { port } = new URL(t.url);
    const socket = connect(Number(port), '127.0.0.1');
    const startedAt = Date.now();
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    let closedAfter: number | undefined;
    socket.on('close', () => (closedAfter = Date.now() - startedAt));
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write(
      'POST /webhooks/instagram HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n' +
        'X-Hub-Signature-256: sha256=00\r\nContent-Length: 1000\r\n\r\n',
    );
    const drip = setInterval(() => socket.writable && socket.write('{'), 300);
    try {
      const elapsed = await waitFor(() => closedAfter, {
        timeoutMs: REQUEST_TIMEOUT_MS + 5000,
        message: 'the server to close',
      });
      expect(elapsed).toBeLessThan(REQUEST_TIMEOUT_MS + 1500);
      expect(answer).toMatch(/^HTTP\/1\.1 408/);
    } finally {
      clearInterval(drip);
      socket.destroy();
    }
  });

  const logLinesFor = (id: string) =>
    waitFor(() => {
      const lines = t
        .logs()
        .split('\n')
        .filter((line) => line.includes(id) && line.includes('request completed'));
      return lines.length > 0 ? lines.map((line) => JSON.parse(line) as Record<string, unknown>) : null;
    });

  it('an unauthenticated request gets a server-made correlation id, whatever X-Request-Id it sends', async () => {
    const body = instagramEnvelope([messagingItem({ mid: 'm_unsigned_corr', sender: 'nobody', text: 'x' })]);
    const res = await request(t.url)
      .post('/webhooks/instagram')
      .set('content-type', 'application/json')
      .set('x-request-id', 'chosen-by-anyone')
      .send(body);
    expect(res.status).toBe(401);
    const id = res.headers['x-request-id'];
    expect(id).toMatch(UUID);
    expect(res.body.correlationId).toBe(id);
    expect(await logLinesFor(id)).toEqual([expect.objectContaining({ correlationId: id, res: { statusCode: 401 } })]);
    expect(t.logs()).not.toContain('chosen-by-anyone');

    const denied = await request(t.url).get('/admin/queues').set('x-request-id', 'chosen-without-a-key');
    expect(denied.status).toBe(401);
    expect(denied.headers['x-request-id']).toMatch(UUID);
    expect(denied.body.correlationId).toBe(denied.headers['x-request-id']);
  });

  it('an authenticated request keeps its own sane X-Request-Id in the answer, the log line and the audit trail', async () => {
    const body = instagramEnvelope([messagingItem({ mid: 'm_signed_corr', sender: 'patient-signed', text: 'x' })]);
    const res = await request(t.url)
      .post('/webhooks/instagram')
      .set('content-type', 'application/json')
      .set('x-hub-signature-256', sign(body, TEST_APP_SECRET))
      .set('x-request-id', 'corr-signed-0001')
      .send(body);
    expect(res.status).toBe(200);
    expect(res.headers['x-request-id']).toBe('corr-signed-0001');
    expect(await logLinesFor('corr-signed-0001')).toHaveLength(1);
    const audit = await waitFor(async () => {
      const { rows } = await t.db.pool.query(
        `SELECT DISTINCT a.correlation_id FROM audit_log a JOIN inbound_events e ON e.id = a.event_id
          WHERE e.meta_message_id = 'm_signed_corr'`,
      );
      return rows.length > 0 ? rows : null;
    });
    expect(audit).toEqual([{ correlation_id: 'corr-signed-0001' }]);

    const listed = await request(t.url)
      .get('/admin/queues')
      .set('authorization', 'Bearer ops-key-for-the-http-limits-test-0001')
      .set('x-request-id', 'corr-ops-0001');
    expect(listed.status).toBe(200);
    expect(listed.headers['x-request-id']).toBe('corr-ops-0001');

    // Not a sane id (too long, odd characters): a server-made one instead, even when authenticated.
    const odd = await request(t.url)
      .get('/admin/queues')
      .set('authorization', 'Bearer ops-key-for-the-http-limits-test-0001')
      .set('x-request-id', 'x'.repeat(200));
    expect(odd.headers['x-request-id']).toMatch(UUID);
  });
});
