import request from 'supertest';
import { FakeGraphApi, GraphRequest } from './support/fake-graph-api';
import { sign } from './support/meta-payloads';
import { startTestApp, TEST_APP_SECRET, TEST_VERIFY_TOKEN, TestApp } from './support/test-app';
import { waitFor } from './support/wait';

const PAGE_ID = '104729655632186';
const WABA_ID = '102290129340398';
const PHONE_NUMBER_ID = '106540352242922';
const OPS_KEY = 'providers-ops-key-0123456789abcdef';

function messengerEnvelope(mid: string, psid: string, text: string): string {
  const now = Date.now();
  return JSON.stringify({
    object: 'page',
    entry: [
      {
        id: PAGE_ID,
        time: now,
        messaging: [{ sender: { id: psid }, recipient: { id: PAGE_ID }, timestamp: now, message: { mid, text } }],
      },
    ],
  });
}

function whatsappEnvelope(value: Record<string, unknown>): string {
  return JSON.stringify({
    object: 'whatsapp_business_account',
    entry: [
      {
        id: WABA_ID,
        changes: [
          {
            field: 'messages',
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: '15550783881', phone_number_id: PHONE_NUMBER_ID },
              ...value,
            },
          },
        ],
      },
    ],
  });
}

const whatsappText = (wamid: string, from: string, body: string) =>
  whatsappEnvelope({
    contacts: [{ profile: { name: 'A Patient' }, wa_id: from }],
    messages: [{ from, id: wamid, timestamp: String(Math.floor(Date.now() / 1000)), type: 'text', text: { body } }],
  });

describe('Messenger and WhatsApp go through the same pipeline as Instagram', () => {
  let t: TestApp;
  const graph = new FakeGraphApi();
  let sent = 0;

  beforeAll(async () => {
    const graphUrl = await graph.start();
    // The Cloud API answers with `messages[0].id`; Messenger (and Instagram) with `message_id`.
    graph.defaultAnswer = (req) =>
      req.path.endsWith(`/${PHONE_NUMBER_ID}/messages`)
        ? {
            status: 200,
            body: {
              messaging_product: 'whatsapp',
              contacts: [{ input: req.body.to, wa_id: req.body.to }],
              messages: [{ id: `wamid.reply.${++sent}` }],
            },
          }
        : { status: 200 };
    t = await startTestApp({
      graph,
      env: {
        INSTAGRAM_GRAPH_URL: graphUrl,
        FACEBOOK_GRAPH_URL: graphUrl,
        FACEBOOK_PAGE_ACCESS_TOKEN: 'test-page-token',
        WHATSAPP_GRAPH_URL: graphUrl,
        WHATSAPP_ACCESS_TOKEN: 'test-whatsapp-token',
        OPS_API_KEYS: OPS_KEY,
      },
    });
  });
  afterAll(async () => {
    await t?.close();
    await graph.stop();
  });

  const post = (provider: string, body: string) =>
    request(t.url)
      .post(`/webhooks/${provider}`)
      .set('content-type', 'application/json')
      .set('x-hub-signature-256', sign(body, TEST_APP_SECRET))
      .send(body);
  const rows = async <T = Record<string, unknown>>(sql: string, params: unknown[] = []) =>
    (await t.db.pool.query(sql, params)).rows as T[];
  const eventStatus = async (provider: string, metaId: string, kind = 'message') =>
    (
      await rows<{ status: string }>(
        `SELECT status FROM inbound_events WHERE provider = $1 AND meta_message_id = $2 AND kind = $3`,
        [provider, metaId, kind],
      )
    )[0]?.status;
  const whatsappSends = (to: string): GraphRequest[] => graph.requests.filter((r) => r.body.to === to);
  const actionsOf = async (metaId: string) =>
    (
      await rows<{ action: string }>(
        `SELECT a.action FROM audit_entries a JOIN inbound_events e ON e.id = a.event_id
          WHERE e.meta_message_id = $1 ORDER BY a.id`,
        [metaId],
      )
    ).map((a) => a.action);

  it.each(['facebook', 'whatsapp'])('answers the GET handshake for %s', async (provider) => {
    const res = await request(t.url)
      .get(`/webhooks/${provider}`)
      .query({ 'hub.mode': 'subscribe', 'hub.verify_token': TEST_VERIFY_TOKEN, 'hub.challenge': '4242' });
    expect(res.status).toBe(200);
    expect(res.text).toBe('4242');
    const wrong = await request(t.url)
      .get(`/webhooks/${provider}`)
      .query({ 'hub.mode': 'subscribe', 'hub.verify_token': 'nope', 'hub.challenge': '4242' });
    expect(wrong.status).toBe(403);
  });

  it.each(['facebook', 'whatsapp'])('refuses an unsigned %s webhook with 401', async (provider) => {
    const res = await request(t.url)
      .post(`/webhooks/${provider}`)
      .set('content-type', 'application/json')
      .send(messengerEnvelope('m_unsigned', 'psid-unsigned', 'x'));
    expect(res.status).toBe(401);
  });

  it('replies once to a Messenger message with the Page token and a RESPONSE message', async () => {
    const res = await post('facebook', messengerEnvelope('m_fb_one', 'psid-1', 'Are you open on Sunday?'));
    expect(res.status).toBe(200);
    expect(res.text).toBe('EVENT_RECEIVED');
    await waitFor(() => eventStatus('facebook', 'm_fb_one').then((s) => s === 'processed'), {
      message: 'messenger event processed',
    });
    const replies = graph.repliesTo('psid-1');
    expect(replies).toHaveLength(1);
    expect(replies[0].path).toBe('/v23.0/me/messages');
    expect(replies[0].authorization).toBe('Bearer test-page-token');
    expect(replies[0].body).toEqual({
      recipient: { id: 'psid-1' },
      messaging_type: 'RESPONSE',
      message: { text: t.config.autoReply.text },
    });
    const [reply] = await rows<{ provider: string; status: string; provider_message_id: string }>(
      `SELECT r.provider, r.status, r.provider_message_id FROM replies r JOIN inbound_events e ON e.id = r.event_id
        WHERE e.meta_message_id = 'm_fb_one'`,
    );
    expect(reply).toMatchObject({ provider: 'facebook', status: 'sent' });
    expect(reply.provider_message_id).toMatch(/^m_reply_/);
    expect(await actionsOf('m_fb_one')).toEqual(['event.received', 'reply.sent', 'event.processed']);
  });

  it('replies once to a WhatsApp message from the phone number it was sent to', async () => {
    const res = await post('whatsapp', whatsappText('wamid.in.one', '16505550001', 'Can I book a check-up?'));
    expect(res.status).toBe(200);
    await waitFor(() => eventStatus('whatsapp', 'wamid.in.one').then((s) => s === 'processed'), {
      message: 'whatsapp event processed',
    });
    const sends = whatsappSends('16505550001');
    expect(sends).toHaveLength(1);
    expect(sends[0].path).toBe(`/v23.0/${PHONE_NUMBER_ID}/messages`);
    expect(sends[0].authorization).toBe('Bearer test-whatsapp-token');
    expect(sends[0].body).toEqual({
      messaging_product: 'whatsapp',
      recipient_type: 'individual',
      to: '16505550001',
      type: 'text',
      text: { body: t.config.autoReply.text },
    });
    const [reply] = await rows<{ provider: string; status: string; provider_message_id: string }>(
      `SELECT r.provider, r.status, r.provider_message_id FROM replies r JOIN inbound_events e ON e.id = r.event_id
        WHERE e.meta_message_id = 'wamid.in.one'`,
    );
    expect(reply).toMatchObject({ provider: 'whatsapp', status: 'sent' });
    expect(reply.provider_message_id).toMatch(/^wamid\.reply\./);
    const [conversation] = await rows<{ account_id: string; participant_id: string }>(
      `SELECT account_id, participant_id FROM conversations WHERE provider = 'whatsapp' AND participant_id = '16505550001'`,
    );
    expect(conversation.account_id).toBe(PHONE_NUMBER_ID);
    expect(await actionsOf('wamid.in.one')).toEqual(['event.received', 'reply.sent', 'event.processed']);
  });

  it.each([
    [
      'facebook',
      'm_fb_dup',
      () => messengerEnvelope('m_fb_dup', 'psid-dup', 'twice'),
      () => graph.repliesTo('psid-dup'),
    ],
    [
      'whatsapp',
      'wamid.dup',
      () => whatsappText('wamid.dup', '16505550002', 'twice'),
      () => whatsappSends('16505550002'),
    ],
  ])('acknowledges a duplicate %s delivery and does not reply again', async (provider, metaId, body, sendsOf) => {
    const payload = body();
    expect((await post(provider, payload)).status).toBe(200);
    await waitFor(() => eventStatus(provider, metaId).then((s) => s === 'processed'));
    expect((await post(provider, payload)).status).toBe(200);
    await waitFor(() => actionsOf(metaId).then((actions) => actions.includes('event.duplicate')), {
      message: 'duplicate audited',
    });
    expect(await rows(`SELECT 1 FROM inbound_events WHERE meta_message_id = $1`, [metaId])).toHaveLength(1);
    expect(sendsOf()).toHaveLength(1);
  });

  it('records WhatsApp delivery statuses, one event per status, and never replies to them', async () => {
    const before = graph.requests.length;
    const statuses = ['sent', 'delivered', 'read'].map((status) => ({
      id: 'wamid.reply.status',
      status,
      timestamp: String(Math.floor(Date.now() / 1000)),
      recipient_id: '16505550003',
      pricing: { billable: true, pricing_model: 'PMP', category: 'service' },
    }));
    expect((await post('whatsapp', whatsappEnvelope({ statuses }))).status).toBe(200);
    await waitFor(
      () =>
        rows<{ n: number }>(
          `SELECT count(*)::int AS n FROM inbound_events
            WHERE provider = 'whatsapp' AND kind = 'status' AND meta_message_id = 'wamid.reply.status' AND status = 'processed'`,
        ).then((r) => r[0].n === 3),
      { message: 'three statuses processed' },
    );
    expect(graph.requests.length).toBe(before);
    expect(await rows(`SELECT 1 FROM replies WHERE recipient_id = '16505550003'`)).toHaveLength(0);
  });

  it('marks an accepted WhatsApp reply failed when its failed status arrives (131047 after the fact)', async () => {
    expect((await post('whatsapp', whatsappText('wamid.in.async', '16505550005', 'hello'))).status).toBe(200);
    await waitFor(() => eventStatus('whatsapp', 'wamid.in.async').then((s) => s === 'processed'));
    const replyRow = () =>
      rows<{ id: string; status: string; provider_message_id: string; last_error_category: string | null }>(
        `SELECT id, status, provider_message_id, last_error_category FROM replies WHERE recipient_id = '16505550005'`,
      ).then((r) => r[0]);
    const sentReply = await replyRow();
    expect(sentReply.status).toBe('sent');

    const failed = {
      id: sentReply.provider_message_id,
      status: 'failed',
      timestamp: String(Math.floor(Date.now() / 1000)),
      recipient_id: '16505550005',
      errors: [{ code: 131047, title: 'Re-engagement message', error_data: { details: 'more than 24 hours' } }],
    };
    expect((await post('whatsapp', whatsappEnvelope({ statuses: [failed] }))).status).toBe(200);
    await waitFor(() =>
      eventStatus('whatsapp', sentReply.provider_message_id, 'status').then((s) => s === 'processed'),
    );
    expect(await replyRow()).toMatchObject({ status: 'failed', last_error_category: 'policy' });
    const [audit] = await rows<{ metadata: Record<string, unknown> }>(
      `SELECT a.metadata FROM audit_entries a JOIN inbound_events e ON e.id = a.event_id
        WHERE e.kind = 'status' AND e.meta_message_id = $1 AND a.action = 'reply.failed'`,
      [sentReply.provider_message_id],
    );
    expect(audit.metadata).toEqual({ replyId: sentReply.id, category: 'policy', code: 131047 });
    expect(whatsappSends('16505550005')).toHaveLength(1);
  });

  it('dead-letters a WhatsApp reply outside the 24-hour window (131047) after one call: policy, no retry', async () => {
    graph.answerNext({
      status: 400,
      body: {
        error: {
          message: '(#131047) Re-engagement message',
          type: 'OAuthException',
          code: 131047,
          error_data: { messaging_product: 'whatsapp', details: 'Message failed to send because more than 24 hours' },
        },
      },
    });
    expect((await post('whatsapp', whatsappText('wamid.late', '16505550004', 'late'))).status).toBe(200);
    await waitFor(() => eventStatus('whatsapp', 'wamid.late').then((s) => s === 'failed'), { message: 'event failed' });
    expect(whatsappSends('16505550004')).toHaveLength(1);
    const letters = await rows<{ category: string; error: string; attempts: number; provider: string }>(
      `SELECT d.category, d.error, d.attempts, d.provider FROM dead_letters d JOIN inbound_events e ON e.id = d.event_id
        WHERE e.meta_message_id = 'wamid.late'`,
    );
    expect(letters).toEqual([
      { category: 'policy', error: 'Graph API answered 400 (code 131047)', attempts: 1, provider: 'whatsapp' },
    ]);
    expect(await actionsOf('wamid.late')).toEqual(
      expect.arrayContaining(['event.received', 'reply.failed', 'event.dead_lettered']),
    );
  });

  it('retries a Messenger 500 and replies once it succeeds', async () => {
    graph.answerNext({ status: 500, body: { error: { code: 2 } } });
    expect((await post('facebook', messengerEnvelope('m_fb_500', 'psid-500', 'hi'))).status).toBe(200);
    await waitFor(() => eventStatus('facebook', 'm_fb_500').then((s) => s === 'processed'), {
      message: 'processed after a retry',
    });
    expect(graph.repliesTo('psid-500')).toHaveLength(2);
    expect(await actionsOf('m_fb_500')).toContain('event.attempt_failed');
  });

  it('a Page and a WhatsApp number in the accounts table reply with their own tokens (entry id, phone number id)', async () => {
    for (const [provider, accountId, accessToken] of [
      ['facebook', PAGE_ID, 'page-token-of-its-own-0123'],
      ['whatsapp', PHONE_NUMBER_ID, 'number-token-of-its-own-0123'],
    ]) {
      const res = await request(t.url)
        .post('/admin/accounts')
        .set('authorization', `Bearer ${OPS_KEY}`)
        .send({ provider, accountId, accessToken });
      expect(res.status).toBe(201);
    }
    expect((await post('facebook', messengerEnvelope('m_fb_own', 'psid-own', 'hello'))).status).toBe(200);
    expect((await post('whatsapp', whatsappText('wamid.own', '15550001111', 'hello'))).status).toBe(200);
    await waitFor(() => graph.repliesTo('psid-own').length === 1 && whatsappSends('15550001111').length === 1);
    expect(graph.repliesTo('psid-own')[0].authorization).toBe('Bearer page-token-of-its-own-0123');
    expect(whatsappSends('15550001111')[0]).toMatchObject({
      path: `/v23.0/${PHONE_NUMBER_ID}/messages`,
      authorization: 'Bearer number-token-of-its-own-0123',
    });
  });
});
