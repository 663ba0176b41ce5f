import request from 'supertest';
import { storage } from 'nestjs-pino/storage';
import { RejectionTally } from '../src/audit/rejection-tally';
import { InboundEventProducer } from '../src/inbound/queue/inbound-event.producer';
import { JobName } from '../src/platform/queue/queue-names';
import { ACCOUNT_ID, instagramEnvelope, messagingItem, sign } from './support/meta-payloads';
import { dumpKey, scanAll } from './support/redis-contents';
import { startTestApp, TEST_APP_SECRET, TEST_OLD_APP_SECRET, TEST_VERIFY_TOKEN, TestApp } from './support/test-app';
import { waitFor } from './support/wait';

describe('inbound pipeline (real Postgres, Redis and a fake Graph API)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  const post = (body: string, signature: string | null = sign(body, TEST_APP_SECRET)) => {
    const req = request(t.url).post('/webhooks/instagram').set('content-type', 'application/json');
    return (signature ? req.set('x-hub-signature-256', signature) : req).send(body);
  };
  const rows = async <T = Record<string, unknown>>(sql: string, params: unknown[] = []) =>
    (await t.db.pool.query(sql, params)).rows as T[];
  const eventStatus = async (mid: string) =>
    (
      await rows<{ status: string }>(
        `SELECT status FROM inbound_events WHERE meta_message_id = $1 AND kind = 'message'`,
        [mid],
      )
    )[0]?.status;

  describe('GET handshake', () => {
    it('echoes the challenge as plain text when the verify token matches', async () => {
      const res = await request(t.url)
        .get('/webhooks/instagram')
        .query({ 'hub.mode': 'subscribe', 'hub.verify_token': TEST_VERIFY_TOKEN, 'hub.challenge': '1158201444' });
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/plain/);
      expect(res.text).toBe('1158201444');
    });

    it.each([
      ['a wrong token', { 'hub.mode': 'subscribe', 'hub.verify_token': 'nope', 'hub.challenge': 'c' }],
      ['a wrong mode', { 'hub.mode': 'unsubscribe', 'hub.verify_token': TEST_VERIFY_TOKEN, 'hub.challenge': 'c' }],
      ['no token', { 'hub.mode': 'subscribe', 'hub.challenge': 'c' }],
    ])('answers 403 to %s', async (_, query) => {
      const res = await request(t.url).get('/webhooks/instagram').query(query);
      expect(res.status).toBe(403);
    });

    it('answers 404 for an unknown provider', async () => {
      const res = await request(t.url).get('/webhooks/myspace').query({ 'hub.mode': 'subscribe' });
      expect(res.status).toBe(404);
    });
  });

  describe('POST signature', () => {
    const body = instagramEnvelope([messagingItem({ mid: 'm_sig_1', sender: 'sig-user', text: 'hello' })]);

    it('refuses a missing signature with 401, stores nothing, and audits the rejection without content', async () => {
      const res = await post(body, null);
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
      expect(await rows(`SELECT 1 FROM inbound_events WHERE meta_message_id = 'm_sig_1'`)).toHaveLength(0);
      // Audited per minute (its count), not per request: the minute is made to be over, then flushed.
      const tally = t.app.get(RejectionTally);
      await tally.flush();
      await rows(`UPDATE webhook_rejection_tallies SET minute = minute - interval '5 minutes'`);
      await tally.flush();
      const audit = await waitFor(() =>
        rows<{ metadata: Record<string, unknown> }>(
          `SELECT metadata FROM audit_log WHERE action = 'webhook.rejected' AND metadata->>'reason' = 'missing_signature'`,
        ).then((r) => r[0]),
      );
      expect(audit.metadata).toMatchObject({ reason: 'missing_signature', count: 1 });
      expect(JSON.stringify(audit)).not.toContain('hello');
    });

    it('refuses a wrong signature with 401', async () => {
      expect((await post(body, sign(body, 'not-the-secret'))).status).toBe(401);
      expect((await post(body, 'sha256=zz')).status).toBe(401);
      expect(await rows(`SELECT 1 FROM inbound_events WHERE meta_message_id = 'm_sig_1'`)).toHaveLength(0);
    });

    it('accepts a signature under any configured app secret (rotation)', async () => {
      const res = await post(body, sign(body, TEST_OLD_APP_SECRET));
      expect(res.status).toBe(200);
      expect(res.text).toBe('EVENT_RECEIVED');
    });

    it('refuses a valid signature replayed over a changed body', async () => {
      const changed = body.replace('hello', 'hellO');
      expect((await post(changed, sign(body, TEST_APP_SECRET))).status).toBe(401);
    });
  });

  it('answers one DM with exactly one reply to the sender, with the configured text and token', async () => {
    const res = await post(
      instagramEnvelope([
        messagingItem({ mid: 'm_one', sender: 'patient-1', text: 'Do you have an appointment on Monday?' }),
      ]),
    );
    expect(res.status).toBe(200);
    expect(res.text).toBe('EVENT_RECEIVED');

    await waitFor(() => eventStatus('m_one').then((s) => s === 'processed'), { message: 'event processed' });
    const replies = t.graph.repliesTo('patient-1');
    expect(replies).toHaveLength(1);
    expect(replies[0].path).toBe('/v23.0/me/messages');
    expect(replies[0].authorization).toBe('Bearer test-access-token');
    expect(replies[0].body).toEqual({ recipient: { id: 'patient-1' }, message: { text: t.config.autoReply.text } });

    const [reply] = await rows<{ status: string; provider_message_id: string }>(
      `SELECT r.status, r.provider_message_id FROM replies r JOIN inbound_events e ON e.id = r.event_id WHERE e.meta_message_id = 'm_one'`,
    );
    expect(reply.status).toBe('sent');
    expect(reply.provider_message_id).toMatch(/^m_reply_/);
    const actions = await rows<{ action: string }>(
      `SELECT a.action FROM audit_entries a JOIN inbound_events e ON e.id = a.event_id WHERE e.meta_message_id = 'm_one' ORDER BY a.id`,
    );
    expect(actions.map((a) => a.action)).toEqual(['event.received', 'reply.sent', 'event.processed']);
    // Stored as two audit rows (processed is folded into reply.sent), and the body sealed once, in the receipt.
    const stored = await rows<{ action: string }>(
      `SELECT a.action FROM audit_log a JOIN inbound_events e ON e.id = a.event_id WHERE e.meta_message_id = 'm_one' ORDER BY a.id`,
    );
    expect(stored.map((a) => a.action)).toEqual(['event.received', 'reply.sent']);
    const [event] = await rows<{ own: boolean; payload_in_receipt: boolean; body: boolean }>(
      `SELECT e.payload IS NOT NULL AS own, e.payload_in_receipt, r.body IS NOT NULL AS body
         FROM inbound_events e JOIN webhook_receipts r ON r.id = e.receipt_id WHERE e.meta_message_id = 'm_one'`,
    );
    expect(event).toEqual({ own: false, payload_in_receipt: true, body: true });
    // Nobody subscribes to instagram.message.received here: the bridge skips the outbound trigger.
    expect(await rows(`SELECT 1 FROM outbound_events`)).toHaveLength(0);
  });

  it("carries the caller's X-Request-Id as the correlation id into the answer, one request log line and the audit trail", async () => {
    const body = instagramEnvelope([messagingItem({ mid: 'm_corr', sender: 'patient-corr', text: 'correlate me' })]);
    const res = await post(body).set('x-request-id', 'corr-webhook-0001');
    expect(res.status).toBe(200);
    expect(res.headers['x-request-id']).toBe('corr-webhook-0001');
    await waitFor(() => eventStatus('m_corr').then((s) => s === 'processed'), { message: 'event processed' });

    const lines = t
      .logs()
      .split('\n')
      .filter((line) => line.includes('corr-webhook-0001') && line.includes('request completed'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      correlationId: 'corr-webhook-0001',
      req: { method: 'POST', url: '/webhooks/instagram' },
      res: { statusCode: 200 },
    });
    const audit = await rows<{ correlation_id: string }>(
      `SELECT DISTINCT a.correlation_id FROM audit_log a JOIN inbound_events e ON e.id = a.event_id
        WHERE e.meta_message_id = 'm_corr'`,
    );
    expect(audit).toEqual([{ correlation_id: 'corr-webhook-0001' }]);
  });

  it('answers 404 in the shared error shape for an unknown provider, under a correlation id of its own', async () => {
    const res = await request(t.url)
      .post('/webhooks/myspace')
      .set('content-type', 'application/json')
      .set('x-request-id', 'corr-webhook-0002')
      .send('{}');
    expect(res.status).toBe(404);
    // Not authenticated: the caller's X-Request-Id is not taken (CONTRACT, Inbound).
    const correlationId = res.headers['x-request-id'];
    expect(correlationId).not.toBe('corr-webhook-0002');
    expect(res.body).toEqual({
      statusCode: 404,
      error: 'Not Found',
      message: 'unknown provider "myspace"',
      correlationId,
    });
  });

  it('logs one request line for the other routes too, without the query string and without entering an AsyncLocalStorage', async () => {
    const res = await request(t.url)
      .get('/webhooks/instagram')
      .set('x-request-id', 'corr-handshake-0001')
      .query({ 'hub.mode': 'subscribe', 'hub.verify_token': TEST_VERIFY_TOKEN, 'hub.challenge': 'c-logged' });
    expect(res.status).toBe(200);
    // The handshake is not authenticated: its correlation id is the server's, in the answer and the log line.
    const correlationId = res.headers['x-request-id'];
    expect(correlationId).not.toBe('corr-handshake-0001');
    // Written once the answer is sent: the client can see the answer first.
    const lines = await waitFor(() => {
      const found = t
        .logs()
        .split('\n')
        .filter((line) => line.includes(correlationId));
      return found.length > 0 ? found : null;
    });
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0])).toMatchObject({
      level: 30,
      msg: 'request completed',
      correlationId,
      req: { method: 'GET', url: '/webhooks/instagram' },
      res: { statusCode: 200 },
      responseTime: expect.any(Number),
    });
    expect(lines[0]).not.toContain(TEST_VERIFY_TOKEN);
    // nestjs-pino's per-request store was never entered: on Node 20 that installs promise hooks for the
    // whole process, which every await in the workers then pays for.
    expect((storage as unknown as { enabled: boolean }).enabled).toBe(false);
  });

  it('acknowledges a duplicate delivery and does nothing else', async () => {
    const body = instagramEnvelope([messagingItem({ mid: 'm_dup', sender: 'patient-dup', text: 'twice' })]);
    expect((await post(body)).status).toBe(200);
    await waitFor(() => eventStatus('m_dup').then((s) => s === 'processed'));
    expect((await post(body)).status).toBe(200);
    await waitFor(() =>
      rows(
        `SELECT 1 FROM audit_log WHERE action = 'event.duplicate' AND metadata->>'kind' = 'message' AND event_id = (SELECT id FROM inbound_events WHERE meta_message_id = 'm_dup')`,
      ).then((r) => r.length === 1),
    );
    expect(await rows(`SELECT 1 FROM inbound_events WHERE meta_message_id = 'm_dup'`)).toHaveLength(1);
    expect(t.graph.repliesTo('patient-dup')).toHaveLength(1);
  });

  it('answers each of a batch of 100 messages in one POST exactly once', async () => {
    const items = Array.from({ length: 100 }, (_, i) =>
      messagingItem({ mid: `m_batch_${i}`, sender: `batch-${i}`, text: `message ${i}` }),
    );
    expect((await post(instagramEnvelope(items))).status).toBe(200);
    await waitFor(
      () =>
        rows<{ n: number }>(
          `SELECT count(*)::int AS n FROM inbound_events WHERE meta_message_id LIKE 'm_batch_%' AND status = 'processed'`,
        ).then((r) => r[0].n === 100),
      { message: '100 processed events' },
    );
    for (let i = 0; i < 100; i++) expect(t.graph.repliesTo(`batch-${i}`)).toHaveLength(1);
  });

  it('answers every message of one conversation sent in one POST (no cooldown)', async () => {
    const items = Array.from({ length: 12 }, (_, i) =>
      messagingItem({ mid: `m_same_${i}`, sender: 'same-patient', text: `message ${i}` }),
    );
    expect((await post(instagramEnvelope(items))).status).toBe(200);
    await waitFor(
      () =>
        rows<{ n: number }>(
          `SELECT count(*)::int AS n FROM inbound_events WHERE meta_message_id LIKE 'm_same_%' AND status = 'processed'`,
        ).then((r) => r[0].n === 12),
      { message: '12 processed events' },
    );
    expect(t.graph.repliesTo('same-patient')).toHaveLength(12);
    const [conversation] = await rows<{ n: number; messages: number }>(
      `SELECT count(DISTINCT c.id)::int AS n, count(m.id)::int AS messages
         FROM conversations c JOIN messages m ON m.conversation_id = c.id WHERE c.participant_id = 'same-patient'`,
    );
    expect(conversation).toEqual({ n: 1, messages: 12 });
  });

  it('never replies to an echo', async () => {
    const body = instagramEnvelope([
      messagingItem({ mid: 'm_echo', sender: 'patient-echo', text: 'sent by staff', isEcho: true }),
    ]);
    expect((await post(body)).status).toBe(200);
    await waitFor(() =>
      rows<{ status: string }>(
        `SELECT status FROM inbound_events WHERE meta_message_id = 'm_echo' AND kind = 'message_echo'`,
      ).then((r) => r[0]?.status === 'processed'),
    );
    expect(t.graph.repliesTo('patient-echo')).toHaveLength(0);
    const [message] = await rows<{ direction: string }>(
      `SELECT direction FROM messages WHERE meta_message_id = 'm_echo'`,
    );
    expect(message.direction).toBe('outbound');
  });

  it('retries Graph 500s with backoff and replies once: three calls', async () => {
    t.graph.defaultAnswer = (req) =>
      req.body.recipient?.id === 'patient-500'
        ? { status: 500, body: { error: { code: 2, message: 'Service temporarily unavailable' } } }
        : { status: 200 };
    let calls = 0;
    t.graph.defaultAnswer = (req) => {
      if (req.body.recipient?.id !== 'patient-500') return { status: 200 };
      calls += 1;
      return calls <= 2 ? { status: 500, body: { error: { code: 2 } } } : { status: 200 };
    };
    expect(
      (await post(instagramEnvelope([messagingItem({ mid: 'm_500', sender: 'patient-500', text: 'hi' })]))).status,
    ).toBe(200);
    await waitFor(() => eventStatus('m_500').then((s) => s === 'processed'), { message: 'processed after retries' });
    t.graph.defaultAnswer = () => ({ status: 200 });
    expect(t.graph.repliesTo('patient-500')).toHaveLength(3);
    const [reply] = await rows<{ status: string; attempts: number }>(
      `SELECT r.status, r.attempts FROM replies r JOIN inbound_events e ON e.id = r.event_id WHERE e.meta_message_id = 'm_500'`,
    );
    expect(reply).toEqual({ status: 'sent', attempts: 3 });
    expect(
      await rows(
        `SELECT 1 FROM audit_log a JOIN inbound_events e ON e.id = a.event_id WHERE e.meta_message_id = 'm_500' AND a.action = 'event.attempt_failed'`,
      ),
    ).toHaveLength(2);
  });

  it('dead-letters a reply outside the 24-hour window after one call (policy, no retry)', async () => {
    t.graph.answerNext({
      status: 400,
      body: {
        error: {
          message: '(#10) This message is sent outside of allowed window.',
          type: 'OAuthException',
          code: 10,
          error_subcode: 2018278,
        },
      },
    });
    expect(
      (await post(instagramEnvelope([messagingItem({ mid: 'm_policy', sender: 'patient-policy', text: 'late' })])))
        .status,
    ).toBe(200);
    await waitFor(() => eventStatus('m_policy').then((s) => s === 'failed'), { message: 'event failed' });
    expect(t.graph.repliesTo('patient-policy')).toHaveLength(1);
    const letters = await rows<{
      category: string;
      error: string;
      attempts: number;
      provider: string;
      correlation_id: string;
    }>(
      `SELECT d.category, d.error, d.attempts, d.provider, d.correlation_id FROM dead_letters d JOIN inbound_events e ON e.id = d.event_id WHERE e.meta_message_id = 'm_policy'`,
    );
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ category: 'policy', attempts: 1, provider: 'instagram' });
    expect(letters[0].error).toBe('Graph API answered 400 (code 10, subcode 2018278)');
    expect(letters[0].correlation_id).toBeTruthy();
    const audit = await rows(
      `SELECT 1 FROM audit_log a JOIN inbound_events e ON e.id = a.event_id WHERE e.meta_message_id = 'm_policy' AND a.action = 'event.dead_lettered' AND a.metadata->>'category' = 'policy'`,
    );
    expect(audit).toHaveLength(1);
  });

  it('stores a signed body that is not a Meta envelope as a malformed dead letter, and answers 200', async () => {
    for (const body of ['{"object": "instagram", "entry": [', 'not json at all', '{"hello":"world"}']) {
      const res = await post(body);
      expect(res.status).toBe(200);
    }
    const letters = await rows<{ category: string; error: string; receipt_id: string }>(
      `SELECT category, error, receipt_id FROM dead_letters WHERE category = 'malformed' ORDER BY created_at`,
    );
    expect(letters.map((l) => l.error)).toEqual(['invalid_json', 'invalid_json', 'not_an_envelope']);
    const receipts = await rows(`SELECT 1 FROM webhook_receipts WHERE id = ANY($1::uuid[]) AND body IS NOT NULL`, [
      letters.map((l) => l.receipt_id),
    ]);
    expect(receipts).toHaveLength(3);
  });

  it('answers 413 to a body over MAX_BODY_BYTES', async () => {
    const huge = 'x'.repeat(t.config.maxBodyBytes + 1);
    const res = await post(huge);
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ statusCode: 413, error: 'Payload Too Large' });
  });

  it('sends a reply at most once whatever reruns the event', async () => {
    expect(
      (await post(instagramEnvelope([messagingItem({ mid: 'm_rerun', sender: 'patient-rerun', text: 'again' })])))
        .status,
    ).toBe(200);
    await waitFor(() => eventStatus('m_rerun').then((s) => s === 'processed'));
    const [{ id }] = await rows<{ id: string }>(`SELECT id FROM inbound_events WHERE meta_message_id = 'm_rerun'`);
    const queue = t.app.get(InboundEventProducer).queue;

    // As if the worker died after Graph accepted the reply but before the event was marked processed.
    await t.db.pool.query(`UPDATE inbound_events SET status = 'processing' WHERE id = $1`, [id]);
    const rerun = await queue.add(JobName.ProcessInboundEvent, { eventId: id }, { jobId: `${id}-rerun-1` });
    await waitFor(async () => (await rerun.getState()) === 'completed');
    expect(await eventStatus('m_rerun')).toBe('processed');

    // As if it died while the request was in flight: the outcome is unknown and is not resent.
    await t.db.pool.query(`UPDATE inbound_events SET status = 'processing' WHERE id = $1`, [id]);
    await t.db.pool.query(`UPDATE replies SET status = 'sending' WHERE event_id = $1`, [id]);
    const rerun2 = await queue.add(JobName.ProcessInboundEvent, { eventId: id }, { jobId: `${id}-rerun-2` });
    await waitFor(async () => (await rerun2.getState()) === 'completed');
    const [reply] = await rows<{ status: string }>(`SELECT status FROM replies WHERE event_id = $1`, [id]);
    expect(reply.status).toBe('unknown');
    expect(t.graph.repliesTo('patient-rerun')).toHaveLength(1);
  });

  it('records deletions, reads, reactions, edits, postbacks and comments without replying', async () => {
    const now = Date.now();
    const body = JSON.stringify({
      object: 'instagram',
      entry: [
        {
          id: ACCOUNT_ID,
          time: now,
          messaging: [
            {
              sender: { id: 'p-other' },
              recipient: { id: ACCOUNT_ID },
              timestamp: now,
              message: { mid: 'm_other', is_deleted: true },
            },
            { sender: { id: 'p-other' }, recipient: { id: ACCOUNT_ID }, timestamp: now, read: { mid: 'm_other' } },
            {
              sender: { id: 'p-other' },
              recipient: { id: ACCOUNT_ID },
              timestamp: now,
              reaction: { mid: 'm_other', action: 'react', reaction: 'love', emoji: '\u2764' },
            },
            {
              sender: { id: 'p-other' },
              recipient: { id: ACCOUNT_ID },
              timestamp: now,
              message_edit: { mid: 'm_other', text: 'edited', num_edit: 1 },
            },
            {
              sender: { id: 'p-other' },
              recipient: { id: ACCOUNT_ID },
              timestamp: now,
              postback: { mid: 'm_pb', title: 'Book', payload: 'BOOK' },
            },
          ],
          changes: [
            {
              field: 'comments',
              value: {
                id: 'c_1',
                from: { id: 'p-other', username: 'someone' },
                text: 'nice',
                media: { id: 'media_1' },
              },
            },
          ],
        },
      ],
    });
    expect((await post(body)).status).toBe(200);
    await waitFor(() =>
      rows<{ n: number }>(
        `SELECT count(*)::int AS n FROM inbound_events WHERE status = 'processed' AND kind IN ('message_deleted','read','reaction','message_edit','postback','comment')`,
      ).then((r) => r[0].n === 6),
    );
    expect(t.graph.repliesTo('p-other')).toHaveLength(0);
  });

  it('keeps message text out of logs, Redis, the audit log and dead letters, and encrypted at rest', async () => {
    const marker = `CANARY-${Date.now()}-${Math.random().toString(36).slice(2)}`;
    t.graph.answerNext({ status: 400, body: { error: { code: 100, message: `echo of ${marker}` } } });
    const body = instagramEnvelope([
      messagingItem({ mid: 'm_canary', sender: 'patient-canary', text: `My test results: ${marker}` }),
    ]);
    expect((await post(body)).status).toBe(200);
    expect((await post('{"broken": "' + marker)).status).toBe(200);
    await waitFor(() => eventStatus('m_canary').then((s) => s === 'failed'));

    expect(t.logs()).not.toContain(marker);
    const keys = await scanAll(t);
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) {
      expect(key).not.toContain(marker);
      expect(await dumpKey(t, key)).not.toContain(marker);
    }
    for (const table of [
      'audit_log',
      'dead_letters',
      'inbound_events',
      'webhook_receipts',
      'messages',
      'replies',
      'conversations',
    ]) {
      const dump = await rows<{ dump: string }>(
        `SELECT coalesce(string_agg(t::text, '\n'), '') AS dump FROM ${table} t`,
      );
      expect(dump[0].dump).not.toContain(marker);
      expect(dump[0].dump).not.toContain(Buffer.from(marker).toString('hex'));
    }
  });
});
