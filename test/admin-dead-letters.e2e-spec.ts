import request from 'supertest';
import { ApiKeyRepository } from '../src/platform/auth/api-key.repository';
import { DataCipher, sealedIn } from '../src/platform/crypto/data-cipher';
import { ACCOUNT_ID, instagramEnvelope, messagingItem, sign } from './support/meta-payloads';
import { startTestApp, TEST_APP_SECRET, TestApp } from './support/test-app';
import { waitFor } from './support/wait';

const OPS = 'ops-test-key-0123456789abcdefxxx';
const STAFF = 'staff-test-key-0123456789abcdefx';
const PUBLISHER = 'pub-test-key-0123456789abcdefxxx';
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
        (k) => as(k).get('/admin/dead-letters/00000000-0000-7000-8000-000000000000/payload?reason=test'),
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

    const payload = await ops.get(`/admin/dead-letters/${deadLetterId}/payload?reason=ticket%201`);
    expect(payload.status).toBe(200);
    expect(payload.body.payload.message.text).toBe('private words');
    await ops.get(`/admin/dead-letters/${deadLetterId}/payload?reason=ticket%202`);
    const views = await rows<{ actor: string; reason: string }>(
      `SELECT actor, metadata->>'reason' AS reason FROM audit_log
        WHERE action = 'deadletter.payload_viewed' AND metadata->>'deadLetterId' = $1 ORDER BY id`,
      [deadLetterId],
    );
    expect(views).toEqual([
      { actor: 'env:ops:1', reason: 'ticket 1' },
      { actor: 'env:ops:1', reason: 'ticket 2' },
    ]);

    expect((await ops.get('/admin/dead-letters/not-a-uuid')).status).toBe(400);
    expect((await ops.get('/admin/dead-letters/00000000-0000-7000-8000-000000000000')).status).toBe(404);
    expect((await ops.get('/admin/dead-letters?limit=501')).status).toBe(400);
    expect((await ops.get('/admin/dead-letters?surprise=1')).status).toBe(400);
    expect((await ops.get('/admin/dead-letters?cursor=garbage')).status).toBe(400);
  });

  describe('replay', () => {
    const replyStatus = async (eventId: string) =>
      (await rows<{ status: string }>(`SELECT status FROM replies WHERE event_id = $1`, [eventId]))[0]?.status;
    const eventStatus = async (eventId: string) =>
      (await rows<{ status: string }>(`SELECT status FROM inbound_events WHERE id = $1`, [eventId]))[0]?.status;

    it('sends a dead-lettered message back through the processor: exactly one reply once the Graph API accepts', async () => {
      const { eventId, deadLetterId } = await deadLetteredMessage('m_replay_one', 'patient-replay-1');
      expect(t.graph.repliesTo('patient-replay-1')).toHaveLength(1); // the 400

      const res = await ops.post(`/admin/dead-letters/${deadLetterId}/replay`);
      expect(res.status).toBe(202);
      expect(res.body).toEqual({ id: deadLetterId, eventId, jobId: `${eventId}-replay-1`, eventIds: [eventId] });

      await waitFor(async () => (await replyStatus(eventId)) === 'sent', { message: 'reply sent after replay' });
      expect(await eventStatus(eventId)).toBe('processed');
      expect(t.graph.repliesTo('patient-replay-1')).toHaveLength(2);
      const [letter] = await rows<{ status: string; replay_count: number; replayed_at: Date | null }>(
        `SELECT status, replay_count, replayed_at FROM dead_letters WHERE id = $1`,
        [deadLetterId],
      );
      expect(letter).toMatchObject({ status: 'replayed', replay_count: 1 });
      expect(letter.replayed_at).not.toBeNull();
      const audit = await rows<{ actor: string; metadata: Record<string, unknown> }>(
        `SELECT actor, metadata FROM audit_log WHERE action = 'deadletter.replayed' AND event_id = $1`,
        [eventId],
      );
      expect(audit).toEqual([{ actor: 'env:ops:1', metadata: { deadLetterId, replayCount: 1, category: 'policy' } }]);

      const job = await ops.get(`/admin/jobs/inbound-events/${eventId}-replay-1`);
      expect(job.status).toBe(200);
      expect(job.body).toMatchObject({ id: `${eventId}-replay-1`, state: 'completed', data: { eventId } });
      const failedJob = await ops.get(`/admin/jobs/inbound-events/${eventId}`);
      expect(failedJob.body).toMatchObject({
        state: 'failed',
        attempts: 1,
        lastError: expect.stringContaining('code 10'),
      });

      const again = await ops.post(`/admin/dead-letters/${deadLetterId}/replay`);
      expect(again.status).toBe(409);
      expect(t.graph.repliesTo('patient-replay-1')).toHaveLength(2);
    });

    it('never resends a reply that was already sent', async () => {
      const body = instagramEnvelope([messagingItem({ mid: 'm_replay_sent', sender: 'patient-replay-2', text: 'hi' })]);
      await request(t.url)
        .post('/webhooks/instagram')
        .set('content-type', 'application/json')
        .set('x-hub-signature-256', sign(body, TEST_APP_SECRET))
        .send(body)
        .expect(200);
      const { id: eventId } = await waitFor(() =>
        rows<{ id: string }>(
          `SELECT e.id FROM inbound_events e JOIN replies r ON r.event_id = e.id
            WHERE e.meta_message_id = 'm_replay_sent' AND r.status = 'sent' AND e.status = 'processed'`,
        ).then((r) => r[0]),
      );
      // As if a later step had failed permanently after the reply went out.
      await t.db.pool.query(`UPDATE inbound_events SET status = 'failed' WHERE id = $1`, [eventId]);
      const [{ id: deadLetterId }] = await rows<{ id: string }>(
        `INSERT INTO dead_letters (id, event_id, provider, correlation_id, category, error, attempts)
         VALUES ('00000000-0000-7000-8000-0000000000aa', $1, 'instagram', 'corr-sent', 'unknown', 'Error', 1) RETURNING id`,
        [eventId],
      );

      expect((await ops.post(`/admin/dead-letters/${deadLetterId}/replay`)).status).toBe(202);
      await waitFor(async () => (await eventStatus(eventId)) === 'processed', { message: 'replayed event processed' });
      expect(await replyStatus(eventId)).toBe('sent');
      expect(t.graph.repliesTo('patient-replay-2')).toHaveLength(1);
    });

    it('answers 409 for a malformed body (no event to replay), whose raw body the payload view shows', async () => {
      const body = '{"object":"instagram","entry":"not-a-list"}';
      await request(t.url)
        .post('/webhooks/instagram')
        .set('content-type', 'application/json')
        .set('x-hub-signature-256', sign(body, TEST_APP_SECRET))
        .send(body)
        .expect(200);
      const [letter] = await waitFor(() =>
        rows<{ id: string }>(`SELECT id FROM dead_letters WHERE category = 'malformed' AND event_id IS NULL`).then(
          (r) => (r.length ? r : null),
        ),
      );
      const res = await ops.post(`/admin/dead-letters/${letter.id}/replay`);
      expect(res.status).toBe(409);
      expect(res.body.message).toMatch(/no event to replay/);
      const payload = await ops.get(`/admin/dead-letters/${letter.id}/payload?reason=test`);
      expect(payload.body).toMatchObject({ payload: null, receiptBody: body });
    });

    it('bulk: dryRun counts without replaying; a real run replays every match in the background (202)', async () => {
      const [{ since }] = await rows<{ since: string }>(`SELECT to_json(now())#>>'{}' AS since`);
      const letters: Array<{ eventId: string; deadLetterId: string }> = [];
      for (let i = 0; i < 3; i++) letters.push(await deadLetteredMessage(`m_bulk_${i}`, `patient-bulk-${i}`));

      const dry = await ops.post('/admin/dead-letters/replay', {
        filter: { from: since, category: 'policy' },
        dryRun: true,
      });
      expect(dry.status).toBe(202);
      expect(dry.body).toMatchObject({ dryRun: true, matched: 3, skippedReceiptsOnly: 0, skippedOutbound: 0 });
      // Each letter's reply window: these failed a moment ago, so their replies could still go.
      expect(dry.body.windows).toEqual({ replyable: 3, humanAgent: 0, windowClosed: 0, noReply: 0 });
      expect(dry.body.letters).toHaveLength(3);
      const byIds = await ops.post('/admin/dead-letters/replay', {
        ids: letters.slice(0, 2).map((l) => l.deadLetterId),
        dryRun: true,
      });
      expect(byIds.body.matched).toBe(2);
      expect(
        await rows(`SELECT 1 FROM dead_letters WHERE status = 'replayed' AND id = ANY($1)`, [
          letters.map((l) => l.deadLetterId),
        ]),
      ).toHaveLength(0);

      const real = await ops.post('/admin/dead-letters/replay', { filter: { from: since, category: 'policy' } });
      expect(real.status).toBe(202);
      expect(real.body).toMatchObject({ dryRun: false, matched: 3, status: 'running', actor: 'env:ops:1' });
      const progress = await waitFor(async () => {
        const res = await ops.get(`/admin/dead-letters/replays/${real.body.replayId}`);
        return res.body.status === 'finished' ? res.body : null;
      });
      expect(progress.replayed).toBe(3);
      for (let i = 0; i < 3; i++) {
        await waitFor(async () => (await replyStatus(letters[i].eventId)) === 'sent', { message: `bulk reply ${i}` });
        expect(t.graph.repliesTo(`patient-bulk-${i}`)).toHaveLength(2);
      }
      const audit = await rows<{ outcome: string }>(
        `SELECT outcome FROM audit_log WHERE action = 'deadletter.bulk_replay' AND metadata->>'bulkReplayId' = $1 ORDER BY id`,
        [real.body.replayId],
      );
      expect(audit.map((a) => a.outcome)).toEqual(['info', 'success']);

      expect((await ops.post('/admin/dead-letters/replay', {})).status).toBe(400);
      expect((await ops.post('/admin/dead-letters/replay', { ids: ['nope'] })).status).toBe(400);
      expect((await ops.post('/admin/dead-letters/replay', { filter: {}, extra: 1 })).status).toBe(400);
    });
  });

  it('re-reads a malformed body that the parser now understands, and processes its events once', async () => {
    // As if an older parser had refused this body: stored sealed, dead-lettered as malformed.
    const cipher = t.app.get(DataCipher);
    const body = instagramEnvelope([messagingItem({ mid: 'm_reparse', sender: 'patient-reparse', text: 'hola' })]);
    await t.db.pool.query(
      `WITH receipt AS (
         INSERT INTO webhook_receipts (id, provider, correlation_id, body_bytes, event_count, body, parse_error)
         VALUES ('00000000-0000-7000-8000-0000000000c1', 'instagram', 'corr-reparse', $1, 0, $2, 'not_an_envelope')
         RETURNING id
       )
       INSERT INTO dead_letters (id, source, receipt_id, provider, correlation_id, category, error)
       SELECT '00000000-0000-7000-8000-0000000000b1', 'inbound', id, 'instagram', 'corr-reparse', 'malformed', 'not_an_envelope'
         FROM receipt`,
      [body.length, cipher.encrypt(body, sealedIn('webhook_receipts.body', '00000000-0000-7000-8000-0000000000c1'))],
    );
    const res = await ops.post('/admin/dead-letters/00000000-0000-7000-8000-0000000000b1/replay');
    expect(res.status).toBe(202);
    expect(res.body.eventIds).toHaveLength(1);
    const [eventId] = res.body.eventIds;
    await waitFor(
      async () =>
        (await rows<{ status: string }>(`SELECT status FROM replies WHERE event_id = $1`, [eventId]))[0]?.status ===
        'sent',
      { message: 'reply to the re-read event' },
    );
    expect(t.graph.repliesTo('patient-reparse')).toHaveLength(1);
    const [receipt] = await rows<{ parse_error: string | null; event_count: number }>(
      `SELECT parse_error, event_count FROM webhook_receipts WHERE id = '00000000-0000-7000-8000-0000000000c1'`,
    );
    expect(receipt).toEqual({ parse_error: null, event_count: 1 });
    expect((await ops.post('/admin/dead-letters/00000000-0000-7000-8000-0000000000b1/replay')).status).toBe(409);
  });

  it('points an outbound delivery dead letter to the endpoints API instead of replaying it (409)', async () => {
    await t.db.pool.query(
      `INSERT INTO dead_letters (id, source, provider, category, error, delivery_id, endpoint_id)
       VALUES ('00000000-0000-7000-8000-0000000000d9', 'outbound', 'outbound', 'server_error', 'HTTP 500', 42,
               '00000000-0000-7000-8000-0000000000e9')`,
    );
    const detail = await ops.get('/admin/dead-letters/00000000-0000-7000-8000-0000000000d9');
    expect(detail.body).toMatchObject({
      source: 'outbound',
      deliveryId: '42',
      endpointId: '00000000-0000-7000-8000-0000000000e9',
    });
    const res = await ops.post('/admin/dead-letters/00000000-0000-7000-8000-0000000000d9/replay');
    expect(res.status).toBe(409);
    expect(res.body.message).toBe(
      'an outbound delivery: retry it with POST /endpoints/00000000-0000-7000-8000-0000000000e9/deliveries/42/retry',
    );
    const dry = await ops.post('/admin/dead-letters/replay', { filter: { source: 'outbound' }, dryRun: true });
    expect(dry.body).toMatchObject({ matched: 0, skippedOutbound: 1 });
  });

  describe('purge', () => {
    it('needs confirm=true, never deletes rows younger than DLQ_RETENTION_DAYS, and is audited', async () => {
      await t.db.pool.query(
        `INSERT INTO dead_letters (id, provider, category, error, created_at) VALUES
           ('00000000-0000-7000-8000-000000000d40', 'instagram', 'network', 'x', now() - interval '40 days'),
           ('00000000-0000-7000-8000-000000000d20', 'instagram', 'network', 'x', now() - interval '20 days'),
           ('00000000-0000-7000-8000-000000000d01', 'instagram', 'network', 'x', now() - interval '1 day')`,
      );
      const now = new Date().toISOString();
      expect((await ops.delete(`/admin/dead-letters?olderThan=${now}`)).status).toBe(400);
      expect((await ops.delete(`/admin/dead-letters?olderThan=${now}&confirm=false`)).status).toBe(400);
      expect((await ops.delete(`/admin/dead-letters?olderThan=yesterday&confirm=true`)).status).toBe(400);

      const res = await ops.delete(`/admin/dead-letters?olderThan=${now}&confirm=true`);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ deleted: 1, retentionDays: 30, clampedToRetention: true });
      const left = await rows<{ id: string }>(
        `SELECT id FROM dead_letters WHERE id::text LIKE '00000000-0000-7000-8000-000000000d%' ORDER BY id`,
      );
      expect(left.map((r) => r.id)).toEqual([
        '00000000-0000-7000-8000-000000000d01',
        '00000000-0000-7000-8000-000000000d20',
      ]);
      const [audit] = await rows<{ actor: string; metadata: { deleted: number } }>(
        `SELECT actor, metadata FROM audit_log WHERE action = 'deadletter.purged' ORDER BY id DESC LIMIT 1`,
      );
      expect(audit).toMatchObject({ actor: 'env:ops:1', metadata: { deleted: 1 } });
    });
  });

  it('pages with an opaque cursor in (created_at, id) order', async () => {
    await t.db.pool.query(
      `INSERT INTO dead_letters (id, provider, category, error, source, created_at)
       SELECT ('00000000-0000-7000-8000-' || lpad(g::text, 12, '0'))::uuid, 'paging', 'timeout', 'x', 'inbound',
              now() - interval '1 hour' - (g % 3) * interval '1 second'
         FROM generate_series(1, 7) g`,
    );
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: request.Response = await ops.get(
        `/admin/dead-letters?provider=paging&limit=3${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(res.status).toBe(200);
      seen.push(...res.body.items.map((i: { id: string }) => i.id));
      cursor = res.body.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(new Set(seen).size).toBe(7);
    const created = await rows<{ id: string }>(
      `SELECT id FROM dead_letters WHERE provider = 'paging' ORDER BY created_at DESC, id DESC`,
    );
    expect(seen).toEqual(created.map((r) => r.id));
  });
});
