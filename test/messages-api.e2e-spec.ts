import request from 'supertest';
import { Clock } from '../src/platform/clock';
import { instagramEnvelope, messagingItem } from './support/meta-payloads';
import { dumpKey, scanAll } from './support/redis-contents';
import { ACCOUNT_ID } from './support/meta-payloads';
import { postWebhook, startTestApp, TestApp } from './support/test-app';
import { waitFor } from './support/wait';

const PUBLISHER_KEY = 'sb_publisher_messages-test-key-0123456789ab';
const STAFF_KEY = 'sb_staff_messages-test-key-0123456789abcdef';
const OPS_KEY = 'sb_ops_messages-test-key-0123456789abcdefgh';
const DAY_MS = 24 * 3600_000;
const SECRET_TEXT = 'Your biopsy result is ready: call Dr. Okafor (ref ZX-48151623)';

/** POST /messages and GET /messages/:id against the real app, Postgres, Redis and the fake Graph API. */
describe('POST /messages: a send API for the clinic’s own systems', () => {
  let t: TestApp;
  let clock: Clock;
  const sql = async <T>(text: string, values: unknown[] = []) => (await t.db.pool.query(text, values)).rows as T[];
  const publisher = () => ({ authorization: `Bearer ${PUBLISHER_KEY}` });
  const ops = () => ({ authorization: `Bearer ${OPS_KEY}` });
  const at = (offsetMs: number) => jest.spyOn(clock, 'now').mockImplementation(() => new Date(Date.now() + offsetMs));
  const send = (body: Record<string, unknown>, key?: string) => {
    const req = request(t.url).post('/messages').set(publisher());
    return (key ? req.set('idempotency-key', key) : req).send({
      provider: 'instagram',
      accountId: ACCOUNT_ID,
      ...body,
    });
  };
  const sentTexts = (recipient: string, text: string) =>
    t.graph.repliesTo(recipient).filter((r) => r.body.message?.text === text);
  async function patientWrites(sender: string, mid: string) {
    expect((await postWebhook(t, instagramEnvelope([messagingItem({ mid, sender, text: 'hi' })]))).status).toBe(200);
    await waitFor(
      async () =>
        (await sql<{ status: string }>(`SELECT status FROM inbound_events WHERE meta_message_id = $1`, [mid]))[0]
          ?.status === 'processed',
      { message: `${mid} processed` },
    );
  }
  const finished = (messageId: string) =>
    waitFor(
      async () => {
        const res = await request(t.url).get(`/messages/${messageId}`).set(publisher());
        return ['sent', 'failed', 'unknown', 'skipped'].includes(res.body.status) ? res.body : null;
      },
      { message: `message ${messageId} finished` },
    );

  beforeAll(async () => {
    t = await startTestApp({
      env: { PUBLISHER_API_KEYS: PUBLISHER_KEY, STAFF_API_KEYS: STAFF_KEY, OPS_API_KEYS: OPS_KEY },
    });
    clock = t.app.get(Clock);
  });
  afterEach(() => jest.restoreAllMocks());
  afterAll(async () => {
    await t?.close();
  });

  it('within 24 h: sent once, also when the same Idempotency-Key is posted twice; GET shows its state, not its text', async () => {
    await patientWrites('msg-a', 'm_msg_a1');
    const first = await send({ recipientId: 'msg-a', text: 'See you at 10:00 tomorrow.' }, 'booking-42');
    expect(first.status).toBe(202);
    expect(first.body).toEqual({ messageId: expect.any(String), status: 'queued' });
    const second = await send({ recipientId: 'msg-a', text: 'See you at 10:00 tomorrow.' }, 'booking-42');
    expect(second.status).toBe(202);
    expect(second.body.messageId).toBe(first.body.messageId);

    const shown = await finished(first.body.messageId);
    expect(shown).toMatchObject({
      messageId: first.body.messageId,
      provider: 'instagram',
      accountId: ACCOUNT_ID,
      recipientId: 'msg-a',
      status: 'sent',
      failureCategory: null,
      providerMessageId: expect.stringMatching(/^m_reply_/),
      sentAt: expect.any(String),
    });
    expect(JSON.stringify(shown)).not.toContain('10:00');
    expect(sentTexts('msg-a', 'See you at 10:00 tomorrow.')).toHaveLength(1);
    expect(sentTexts('msg-a', 'See you at 10:00 tomorrow.')[0].body).not.toHaveProperty('tag');
  });

  it('a message sent this way starts a handoff: the patient’s next DM gets no auto-reply', async () => {
    await patientWrites('msg-h', 'm_msg_h1');
    const autoReplies = t.graph.repliesTo('msg-h').length;
    const res = await send({ recipientId: 'msg-h', text: 'Dr. Lee will call you.' });
    expect(res.status).toBe(202);
    await finished(res.body.messageId);
    await patientWrites('msg-h', 'm_msg_h2');
    expect(t.graph.repliesTo('msg-h')).toHaveLength(autoReplies + 1);
    const [reply] = await sql<{ status: string; skip_reason: string }>(
      `SELECT r.status, r.skip_reason FROM replies r JOIN inbound_events e ON e.id = r.event_id WHERE e.meta_message_id = 'm_msg_h2'`,
    );
    expect(reply).toEqual({ status: 'skipped', skip_reason: 'handoff' });
  });

  it('3 days on: 409 untagged; sent with HUMAN_AGENT in the Graph body; 8 days on: 409 even tagged', async () => {
    await patientWrites('msg-late', 'm_msg_late1');
    at(3 * DAY_MS);
    const untagged = await send({ recipientId: 'msg-late', text: 'Following up on your visit.' });
    expect(untagged.status).toBe(409);
    expect(untagged.body).toMatchObject({ error: 'window_closed' });

    const tagged = await send({ recipientId: 'msg-late', text: 'Following up on your visit.', tag: 'HUMAN_AGENT' });
    expect(tagged.status).toBe(202);
    expect(await finished(tagged.body.messageId)).toMatchObject({ status: 'sent' });
    const [graphCall] = sentTexts('msg-late', 'Following up on your visit.');
    expect(graphCall.body).toMatchObject({
      recipient: { id: 'msg-late' },
      messaging_type: 'MESSAGE_TAG',
      tag: 'HUMAN_AGENT',
      message: { text: 'Following up on your visit.' },
    });

    at(8 * DAY_MS);
    const tooLate = await send({ recipientId: 'msg-late', text: 'Still there?', tag: 'HUMAN_AGENT' });
    expect(tooLate.status).toBe(409);
    expect(tooLate.body).toMatchObject({ error: 'window_closed' });
    expect((await send({ recipientId: 'nobody-wrote', text: 'Hello?' })).status).toBe(409);
    expect(sentTexts('msg-late', 'Still there?')).toHaveLength(0);
  });

  it('Graph 500 twice then 200: one message, three calls; its text is in no log, Redis key or unsealed column', async () => {
    await patientWrites('msg-retry', 'm_msg_retry1');
    t.graph.answerNext({ status: 500, body: { error: { message: 'oops', code: 2 } } }, { status: 500, body: {} });
    const res = await send({ recipientId: 'msg-retry', text: SECRET_TEXT });
    expect(res.status).toBe(202);
    expect(await finished(res.body.messageId)).toMatchObject({ status: 'sent' });
    expect(sentTexts('msg-retry', SECRET_TEXT)).toHaveLength(3);
    const [row] = await sql<{ attempts: number }>(`SELECT attempts FROM outgoing_messages WHERE id = $1`, [
      res.body.messageId,
    ]);
    expect(row.attempts).toBe(3);
    expect(await sql(`SELECT 1 FROM dead_letters WHERE message_id = $1`, [res.body.messageId])).toHaveLength(0);

    expect(t.logs()).not.toContain('ZX-48151623');
    for (const key of await scanAll(t)) expect(await dumpKey(t, key)).not.toContain('ZX-48151623');
    const tables = await sql<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`,
    );
    const hex = Buffer.from('ZX-48151623').toString('hex');
    for (const { table_name } of tables) {
      const rows = await sql<{ r: string }>(`SELECT t::text AS r FROM "${table_name}" t`);
      for (const { r } of rows) {
        expect(r).not.toContain('ZX-48151623');
        expect(r).not.toContain(hex);
      }
    }
  });

  it('a permanent refusal: failed, dead-lettered (no text), one call', async () => {
    await patientWrites('msg-refused', 'm_msg_refused1');
    t.graph.answerNext({
      status: 400,
      body: { error: { message: 'Invalid parameter', type: 'OAuthException', code: 100 } },
    });
    const res = await send({ recipientId: 'msg-refused', text: 'Refused text' });
    expect(await finished(res.body.messageId)).toMatchObject({ status: 'failed', failureCategory: expect.any(String) });
    expect(sentTexts('msg-refused', 'Refused text')).toHaveLength(1);
    const letters = await sql<{ source: string; error: string }>(
      `SELECT source, error FROM dead_letters WHERE message_id = $1`,
      [res.body.messageId],
    );
    expect(letters).toEqual([{ source: 'message', error: expect.not.stringContaining('Refused text') }]);
  });

  it('held while its account is paused (no attempt used), sent once it is resumed', async () => {
    await patientWrites('msg-paused', 'm_msg_paused1');
    const pause = await request(t.url).post(`/admin/accounts/instagram/${ACCOUNT_ID}/pause`).set(ops());
    expect(pause.status).toBe(200);
    const res = await send({ recipientId: 'msg-paused', text: 'Held text' });
    expect(res.status).toBe(202);
    await waitFor(
      async () =>
        (
          await sql<{ n: number }>(
            `SELECT count(*)::int AS n FROM outgoing_messages WHERE id = $1 AND queued_at IS NOT NULL`,
            [res.body.messageId],
          )
        )[0].n === 1,
      { message: 'queued' },
    );
    const [row] = await sql<{ status: string; attempts: number }>(
      `SELECT status, attempts FROM outgoing_messages WHERE id = $1`,
      [res.body.messageId],
    );
    expect(row).toEqual({ status: 'queued', attempts: 0 });
    expect(sentTexts('msg-paused', 'Held text')).toHaveLength(0);
    expect((await request(t.url).post(`/admin/accounts/instagram/${ACCOUNT_ID}/resume`).set(ops())).status).toBe(200);
    expect(await finished(res.body.messageId)).toMatchObject({ status: 'sent' });
    expect(sentTexts('msg-paused', 'Held text')).toHaveLength(1);
  });

  it.each([
    ['a text beyond 1000 characters', { recipientId: 'msg-a', text: 'x'.repeat(1001) }, /text must be at most 1000/],
    ['an empty text', { recipientId: 'msg-a', text: '' }, /text must not be empty/],
    ['an unknown provider', { provider: 'telegram', recipientId: 'msg-a', text: 'hi' }, /provider must be one of/],
    [
      'a tag on whatsapp',
      { provider: 'whatsapp', recipientId: 'msg-a', text: 'hi', tag: 'HUMAN_AGENT' },
      /HUMAN_AGENT/,
    ],
    ['another tag', { recipientId: 'msg-a', text: 'hi', tag: 'POST_PURCHASE_UPDATE' }, /tag may be HUMAN_AGENT only/],
    [
      'an account with no token (facebook has no environment token here)',
      { provider: 'facebook', accountId: 'page-1', recipientId: 'msg-a', text: 'hi' },
      /no account of this provider/,
    ],
  ])('400 for %s', async (_name, body, message) => {
    const res = await send(body);
    expect(res.status).toBe(400);
    expect([res.body.message].flat().join('; ')).toMatch(message);
  });

  it('needs a publisher or ops key; GET of an unknown id is 404', async () => {
    expect((await request(t.url).post('/messages').send({})).status).toBe(401);
    expect(
      (
        await request(t.url)
          .post('/messages')
          .set({ authorization: `Bearer ${STAFF_KEY}` })
          .send({})
      ).status,
    ).toBe(403);
    expect((await request(t.url).get('/messages/0190aaaa-0000-7000-8000-000000000000').set(publisher())).status).toBe(
      404,
    );
    const docs = await request(t.url).get('/docs-json');
    if (docs.status === 200)
      expect(Object.keys(docs.body.paths)).toEqual(expect.arrayContaining(['/messages', '/messages/{id}']));
  });
});
