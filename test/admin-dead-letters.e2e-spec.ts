import request from 'supertest';
import { ApiKeyRepository } from '../src/auth/api-key.repository';
import { ACCOUNT_ID, instagramEnvelope, messagingItem, sign } from './support/meta-payloads';
import { startTestApp, TEST_APP_SECRET, TestApp } from './support/test-app';
import { waitFor } from './support/wait';

const OPS = 'ops-test-key';
const STAFF = 'staff-test-key';
const PUBLISHER = 'pub-test-key';
const POLICY_ERROR = { status: 400, body: { error: { code: 10, error_subcode: 2018278, type: 'OAuthException' } } };

describe('admin: dead letters (real Postgres, Redis and a fake Graph API)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({
      env: { OPS_API_KEYS: OPS, STAFF_API_KEYS: STAFF, PUBLISHER_API_KEYS: PUBLISHER, DLQ_RETENTION_DAYS: '30' },
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  const rows = async <T = Record<string, unknown>>(sql: string, params: unknown[] = []) =>
    (await t.db.pool.query(sql, params)).rows as T[];
  const as = (key: string | null) => {
    const auth = (req: request.Test) => (key ? req.set('authorization', `Bearer ${key}`) : req);
    return {
      get: (path: string) => auth(request(t.url).get(path)),
      post: (path: string, body?: object) =>
        auth(
          request(t.url)
            .post(path)
            .send(body ?? {}),
        ),
      delete: (path: string) => auth(request(t.url).delete(path)),
    };
  };
  const ops = as(OPS);

  /** Sends one DM; the Graph API answers it with `answer`; resolves with the event id once dead-lettered. */
  async function deadLetteredMessage(mid: string, sender: string): Promise<{ eventId: string; deadLetterId: string }> {
    t.graph.answerNext(POLICY_ERROR);
    const body = instagramEnvelope([messagingItem({ mid, sender, text: 'private words' })]);
    const res = await request(t.url)
      .post('/webhooks/instagram')
      .set('content-type', 'application/json')
      .set('x-hub-signature-256', sign(body, TEST_APP_SECRET))
      .send(body);
    expect(res.status).toBe(200);
    return waitFor(
      () =>
        rows<{ eventId: string; deadLetterId: string }>(
          `SELECT e.id AS "eventId", d.id AS "deadLetterId" FROM inbound_events e
             JOIN dead_letters d ON d.event_id = e.id AND d.status = 'pending'
            WHERE e.meta_message_id = $1`,
          [mid],
        ).then((r) => r[0]),
      { message: `dead letter for ${mid}` },
    );
  }

  describe('authentication and roles', () => {
    const routes: Array<[string, (k: string | null) => request.Test]> = [
      ['GET /admin/dead-letters', (k) => as(k).get('/admin/dead-letters')],
      ['GET /admin/dead-letters/:id', (k) => as(k).get('/admin/dead-letters/00000000-0000-7000-8000-000000000000')],
      [
        'GET /admin/dead-letters/:id/payload',
        (k) => as(k).get('/admin/dead-letters/00000000-0000-7000-8000-000000000000/payload'),
      ],
      [
        'POST /admin/dead-letters/:id/replay',
        (k) => as(k).post('/admin/dead-letters/00000000-0000-7000-8000-000000000000/replay'),
      ],
      [
        'POST /admin/dead-letters/replay',
        (k) => as(k).post('/admin/dead-letters/replay', { filter: {}, dryRun: true }),
      ],
      [
        'DELETE /admin/dead-letters',
        (k) => as(k).delete('/admin/dead-letters?olderThan=2020-01-01T00:00:00Z&confirm=true'),
      ],
      ['GET /admin/queues', (k) => as(k).get('/admin/queues')],
      ['GET /admin/jobs/:queue/:id', (k) => as(k).get('/admin/jobs/inbound-events/nope')],
    ];

    it.each(routes)(
      '%s: 401 without a key or with an unknown key, 403 for staff and publisher keys',
      async (_, call) => {
        for (const key of [null, 'not-a-key']) {
          const res = await call(key);
          expect(res.status).toBe(401);
          expect(res.body).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
        }
        for (const key of [STAFF, PUBLISHER]) expect((await call(key)).status).toBe(403);
        expect([200, 202, 404]).toContain((await call(OPS)).status);
      },
    );

    it('refuses revoked and expired stored keys with 401, and accepts a live one', async () => {
      const keys = t.app.get(ApiKeyRepository);
      const live = await keys.create('alice', 'ops', null);
      const revoked = await keys.create('bob', 'ops', null);
      await keys.revoke('bob');
      const expired = await keys.create('carol', 'ops', new Date(Date.now() - 1000));
      expect((await as(live.key).get('/admin/dead-letters')).status).toBe(200);
      expect((await as(revoked.key).get('/admin/dead-letters')).status).toBe(401);
      expect((await as(expired.key).get('/admin/dead-letters')).status).toBe(401);
    });
  });

  it('lists, details and shows the payload of a dead letter; the payload view is audited with the key name', async () => {
    const { eventId, deadLetterId } = await deadLetteredMessage('m_dl_detail', 'patient-dl-1');

    const list = await ops.get('/admin/dead-letters?provider=instagram&category=policy');
    expect(list.status).toBe(200);
    const item = list.body.items.find((i: { id: string }) => i.id === deadLetterId);
    expect(item).toMatchObject({ eventId, category: 'policy', status: 'pending', source: 'inbound', attempts: 1 });
    expect(item.error).toContain('code 10');
    expect(JSON.stringify(list.body)).not.toContain('private words');

    const detail = await ops.get(`/admin/dead-letters/${deadLetterId}`);
    expect(detail.status).toBe(200);
    expect(detail.body).toMatchObject({
      id: deadLetterId,
      eventId,
      jobId: eventId,
      event: { kind: 'message', status: 'failed' },
      reply: { status: 'failed', lastHttpStatus: null },
    });

    const payload = await ops.get(`/admin/dead-letters/${deadLetterId}/payload`);
    expect(payload.status).toBe(200);
    expect(payload.body.payload.message.text).toBe('private words');
    await ops.get(`/admin/dead-letters/${deadLetterId}/payload`);
    const views = await rows<{ actor: string }>(
      `SELECT actor FROM audit_log WHERE action = 'deadletter.payload_viewed' AND metadata->>'deadLetterId' = $1`,
      [deadLetterId],
    );
    expect(views.map((v) => v.actor)).toEqual(['env:ops:1', 'env:ops:1']);

    expect((await ops.get('/admin/dead-letters/not-a-uuid')).status).toBe(400);
    expect((await ops.get('/admin/dead-letters/00000000-0000-7000-8000-000000000000')).status).toBe(404);
    expect((await ops.get('/admin/dead-letters?limit=501')).status).toBe(400);
    expect((await ops.get('/admin/dead-letters?surprise=1')).status).toBe(400);
    expect((await ops.get('/admin/dead-letters?cursor=garbage')).status).toBe(400);
  });
});
