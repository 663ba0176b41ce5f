import request from 'supertest';
import { Webhook } from 'standardwebhooks';
import { GraphRequest } from './support/fake-graph-api';
import { postWebhook, startTestApp, TestApp } from './support/test-app';
import { waitFor } from './support/wait';
import { WebhookReceiver } from './support/webhook-receiver';

const OPS_KEY = 'account-sends-ops-key-0123456789ab';
const ENV_TOKEN = 'test-access-token';

/** One `entry[]` per account: the way Meta batches several accounts' messages into one webhook. */
function envelope(entries: Array<{ accountId: string; senders: string[]; tag: string }>): string {
  const now = Date.now();
  return JSON.stringify({
    object: 'instagram',
    entry: entries.map(({ accountId, senders, tag }) => ({
      id: accountId,
      time: now,
      messaging: senders.map((sender, i) => ({
        sender: { id: sender },
        recipient: { id: accountId },
        timestamp: now,
        message: { mid: `m_${tag}_${i}`, text: 'hello' },
      })),
    })),
  });
}

const senders = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `${prefix}-${i}`);

/**
 * Per-account tokens on the send path, against the real app, Postgres, Redis and a fake Graph API that checks
 * every bearer token as Meta does (a wrong or revoked one: 401, code 190).
 */
describe('accounts on the send path: own tokens, held while a token is bad or the account paused', () => {
  let t: TestApp;
  let receiver: WebhookReceiver;
  let notices: { id: string; secret: string };
  const ops = () => ({ authorization: `Bearer ${OPS_KEY}` });
  const sql = async <T>(text: string, values: unknown[] = []) => (await t.db.pool.query(text, values)).rows as T[];
  const sentTo = (prefix: string) => t.graph.requests.filter((r) => r.body.recipient?.id?.startsWith(`${prefix}-`));
  const accepted = (requests: GraphRequest[]) => requests.filter((r) => r.accountId !== undefined);

  async function addAccount(accountId: string, accessToken: string) {
    const res = await request(t.url)
      .post('/admin/accounts')
      .set(ops())
      .send({ provider: 'instagram', accountId, accessToken });
    expect(res.status).toBe(201);
  }

  async function account(accountId: string) {
    const res = await request(t.url).get(`/admin/accounts/instagram/${accountId}`).set(ops());
    expect(res.status).toBe(200);
    return res.body as { status: string; heldReplies: number; tokenSource: string };
  }

  /** Replies of the messages sent by `prefix-*`, by status. */
  async function replies(prefix: string) {
    const rows = await sql<{ status: string; n: number; attempts: number }>(
      `SELECT r.status, count(*)::int AS n, sum(r.attempts)::int AS attempts
         FROM replies r JOIN inbound_events e ON e.id = r.event_id
        WHERE e.sender_id LIKE $1 GROUP BY r.status`,
      [`${prefix}-%`],
    );
    return Object.fromEntries(rows.map((row) => [row.status, row]));
  }

  const deadLetters = async (prefix: string) =>
    (
      await sql<{ n: number }>(
        `SELECT count(*)::int AS n FROM dead_letters d JOIN inbound_events e ON e.id = d.event_id WHERE e.sender_id LIKE $1`,
        [`${prefix}-%`],
      )
    )[0].n;

  const noticesOf = (type: string) =>
    receiver.received
      .filter((delivery) => delivery.path === '/ops-events')
      .map((delivery) => ({ headers: delivery.headers, body: delivery.body, parsed: JSON.parse(delivery.body) }))
      .filter((delivery) => delivery.parsed.type === type);

  beforeAll(async () => {
    receiver = new WebhookReceiver();
    await receiver.start();
    // SEND_BURST=1: every reply of an account has a slot of its own, so the order of the sends is observable.
    t = await startTestApp({
      env: {
        OPS_API_KEYS: OPS_KEY,
        OUTBOUND_ALLOW_PRIVATE_NETWORKS: 'true',
        SEND_RATE_PER_SECOND: '100',
        SEND_BURST: '1',
      },
    });
    t.graph.acceptToken(ENV_TOKEN, 'env-account');
    const res = await request(t.url)
      .post('/endpoints')
      .set(ops())
      .send({ url: receiver.url('/ops-events'), events: ['switchboard.*'] });
    expect(res.status).toBe(201);
    notices = res.body;
  });
  afterAll(async () => {
    await t?.close();
    await receiver?.stop();
  });

  it('two Instagram accounts, 50 DMs to each in one batch: each reply carries its own account token', async () => {
    await addAccount('acct-a', 'token-a-0123456789');
    await addAccount('acct-b', 'token-b-0123456789');
    t.graph.acceptToken('token-a-0123456789', 'acct-a');
    t.graph.acceptToken('token-b-0123456789', 'acct-b');
    const body = envelope([
      { accountId: 'acct-a', senders: senders('two-a', 50), tag: 'two_a' },
      { accountId: 'acct-b', senders: senders('two-b', 50), tag: 'two_b' },
    ]);
    expect((await postWebhook(t, body)).status).toBe(200);

    await waitFor(() => sentTo('two-a').length === 50 && sentTo('two-b').length === 50, {
      message: '100 replies',
    });
    expect(sentTo('two-a').map((r) => r.authorization)).toEqual(Array(50).fill('Bearer token-a-0123456789'));
    expect(sentTo('two-b').map((r) => r.authorization)).toEqual(Array(50).fill('Bearer token-b-0123456789'));
    expect(new Set(sentTo('two-a').map((r) => r.body.recipient?.id)).size).toBe(50);
    expect((await replies('two-a')).sent?.n).toBe(50);
    expect((await replies('two-b')).sent?.n).toBe(50);
  });

  it('an account not in the table replies with the environment token, as before accounts existed', async () => {
    expect(
      (await postWebhook(t, envelope([{ accountId: 'env-account', senders: ['env-0'], tag: 'env' }]))).status,
    ).toBe(200);
    await waitFor(() => sentTo('env').length === 1);
    expect(sentTo('env')[0].authorization).toBe(`Bearer ${ENV_TOKEN}`);
    const list = await request(t.url).get('/admin/accounts').set(ops());
    expect(list.body.items.map((item: { accountId: string }) => item.accountId)).not.toContain('env-account');
  });

  it('Graph answers 190 for account A: A needs a token, 30 more DMs are held, B keeps replying; a PATCH sends all 31 once', async () => {
    await addAccount('acct-c', 'token-c-revoked-0123');
    t.graph.acceptToken('token-d-0123456789', 'acct-d');
    await addAccount('acct-d', 'token-d-0123456789');

    expect((await postWebhook(t, envelope([{ accountId: 'acct-c', senders: ['lone-0'], tag: 'lone' }]))).status).toBe(
      200,
    );
    await waitFor(async () => (await account('acct-c')).status === 'needs_token', { message: 'acct-c needs a token' });
    expect(sentTo('lone')).toHaveLength(1);

    const body = envelope([
      { accountId: 'acct-c', senders: senders('bad', 30), tag: 'bad' },
      { accountId: 'acct-d', senders: senders('good', 10), tag: 'good' },
    ]);
    expect((await postWebhook(t, body)).status).toBe(200);
    await waitFor(async () => (await replies('bad')).held?.n === 30 && (await replies('good')).sent?.n === 10, {
      message: '30 held for acct-c, 10 sent for acct-d',
    });
    // Held: no call made, no attempt used, nothing dead-lettered, the events unfinished (not lost).
    expect(sentTo('bad')).toHaveLength(0);
    expect((await replies('bad')).held.attempts).toBe(0);
    expect(await deadLetters('bad')).toBe(0);
    expect(await deadLetters('lone')).toBe(0);
    const firstReply = await sql<{ status: string; attempts: number; hold_reason: string }>(
      `SELECT r.status, r.attempts, r.hold_reason FROM replies r JOIN inbound_events e ON e.id = r.event_id
        WHERE e.sender_id = 'lone-0'`,
    );
    expect(firstReply).toEqual([{ status: 'held', attempts: 0, hold_reason: 'needs_token' }]);
    expect(sentTo('good').every((r) => r.authorization === 'Bearer token-d-0123456789')).toBe(true);

    expect(await account('acct-c')).toMatchObject({ status: 'needs_token', heldReplies: 31 });
    const ready = await request(t.url).get('/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body.details.accounts).toMatchObject({ status: 'up', needsToken: 1 });
    expect(ready.body.details.accounts.held).toBeGreaterThanOrEqual(31);
    const audited = await sql<{ n: number }>(
      `SELECT count(*)::int AS n FROM audit_log WHERE action = 'account.needs_token' AND metadata->>'accountId' = 'acct-c'`,
    );
    expect(audited[0].n).toBe(1);
    // One operational event for the incident, signed like any delivery; ids only.
    const raised = await waitFor(() => {
      const found = noticesOf('switchboard.account.needs_token');
      return found.length > 0 ? found : undefined;
    });
    expect(raised).toHaveLength(1);
    expect(raised[0].parsed.data).toMatchObject({ provider: 'instagram', accountId: 'acct-c' });
    expect(() =>
      new Webhook(notices.secret).verify(raised[0].body, raised[0].headers as Record<string, string>),
    ).not.toThrow();

    t.graph.acceptToken('token-c-good-0123456', 'acct-c');
    const patched = await request(t.url)
      .patch('/admin/accounts/instagram/acct-c')
      .set(ops())
      .send({ accessToken: 'token-c-good-0123456' });
    expect(patched.status).toBe(200);
    expect(patched.body.status).toBe('active');

    await waitFor(async () => (await replies('bad')).sent?.n === 30 && (await replies('lone')).sent?.n === 1, {
      message: 'the 31 held replies sent',
    });
    const resent = [...sentTo('bad'), ...sentTo('lone')];
    const good = accepted(resent);
    expect(good).toHaveLength(31);
    expect(new Set(good.map((r) => r.body.recipient?.id)).size).toBe(31);
    expect(good.every((r) => r.authorization === 'Bearer token-c-good-0123456')).toBe(true);
    expect((await replies('bad')).sent.attempts).toBe(30);
    expect(await deadLetters('bad')).toBe(0);
    const unfinished = await sql<{ n: number }>(
      `SELECT count(*)::int AS n FROM inbound_events WHERE (sender_id LIKE 'bad-%' OR sender_id = 'lone-0') AND status <> 'processed'`,
    );
    expect(unfinished[0].n).toBe(0);
    expect(noticesOf('switchboard.account.needs_token')).toHaveLength(1);
  });

  it('the environment token refused: its replies are held too (not dead-lettered) until the account gets a token', async () => {
    t.graph.revokeToken(ENV_TOKEN);
    try {
      expect(
        (await postWebhook(t, envelope([{ accountId: 'env-broken', senders: senders('envbad', 3), tag: 'envbad' }])))
          .status,
      ).toBe(200);
      await waitFor(async () => (await replies('envbad')).held?.n === 3, { message: '3 held replies' });
      expect(await deadLetters('envbad')).toBe(0);
      expect(await account('env-broken')).toMatchObject({
        status: 'needs_token',
        tokenSource: 'environment',
        heldReplies: 3,
      });

      // The clinic gives the account a token of its own: the row takes it, and the held replies go.
      t.graph.acceptToken('token-env-broken-0123', 'env-broken');
      const created = await request(t.url)
        .post('/admin/accounts')
        .set(ops())
        .send({ provider: 'instagram', accountId: 'env-broken', accessToken: 'token-env-broken-0123' });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ status: 'active', tokenSource: 'account' });
      await waitFor(async () => (await replies('envbad')).sent?.n === 3, { message: '3 replies sent' });
      const good = accepted(sentTo('envbad'));
      expect(good.map((r) => r.authorization)).toEqual(Array(3).fill('Bearer token-env-broken-0123'));
      expect(new Set(good.map((r) => r.body.recipient?.id)).size).toBe(3);
    } finally {
      t.graph.acceptToken(ENV_TOKEN, 'env-account');
    }
  });

  it('pause: 100 DMs are received and stored but not answered; resume sends each once, in arrival order', async () => {
    t.graph.acceptToken('token-e-0123456789', 'acct-e');
    await addAccount('acct-e', 'token-e-0123456789');
    const paused = await request(t.url).post('/admin/accounts/instagram/acct-e/pause').set(ops());
    expect(paused.status).toBe(200);
    expect(paused.body.status).toBe('paused');

    // One webhook after the other: their order is the arrival order the replies must follow.
    for (const sender of senders('calm', 100)) {
      expect((await postWebhook(t, envelope([{ accountId: 'acct-e', senders: [sender], tag: sender }]))).status).toBe(
        200,
      );
    }
    await waitFor(async () => (await replies('calm')).held?.n === 100, { message: '100 held replies' });
    expect(sentTo('calm')).toHaveLength(0);
    const stored = await sql<{ messages: number; held: number }>(
      `SELECT (SELECT count(*)::int FROM messages m JOIN inbound_events e ON e.id = m.event_id
                WHERE e.sender_id LIKE 'calm-%') AS messages,
              (SELECT count(*)::int FROM audit_log a JOIN inbound_events e ON e.id = a.event_id
                WHERE e.sender_id LIKE 'calm-%' AND a.action = 'reply.held') AS held`,
    );
    expect(stored[0]).toEqual({ messages: 100, held: 100 });

    const resumed = await request(t.url).post('/admin/accounts/instagram/acct-e/resume').set(ops());
    expect(resumed.status).toBe(200);
    expect(resumed.body.status).toBe('active');
    await waitFor(async () => (await replies('calm')).sent?.n === 100, { message: '100 replies sent' });
    const calls = sentTo('calm');
    expect(calls).toHaveLength(100);
    expect(new Set(calls.map((r) => r.body.recipient?.id)).size).toBe(100);

    // Arrival order: the release gave the replies consecutive send slots in the order the webhooks came...
    const slots = await sql<{ sender: string; slot: Date }>(
      `SELECT e.sender_id AS sender, r.not_before AS slot FROM replies r JOIN inbound_events e ON e.id = r.event_id
        WHERE e.sender_id LIKE 'calm-%' ORDER BY e.received_at, e.id`,
    );
    expect(slots.map((row) => row.sender)).toEqual(senders('calm', 100));
    const times = slots.map((row) => row.slot.getTime());
    expect(times).toEqual([...times].sort((a, b) => a - b));
    // ...and went out in that order, 10 ms apart: a busy worker may let a few neighbours overtake, so the
    // check counts pairs sent out of order (random order: half of them).
    const sentOrder = calls.map((call) => Number(call.body.recipient?.id?.slice('calm-'.length)));
    let inversions = 0;
    for (let i = 0; i < sentOrder.length; i++) {
      for (let j = i + 1; j < sentOrder.length; j++) if (sentOrder[i] > sentOrder[j]) inversions++;
    }
    expect(inversions / ((100 * 99) / 2)).toBeLessThan(0.05);

    const actions = await sql<{ action: string; actor: string }>(
      `SELECT action, actor FROM audit_log WHERE action IN ('account.paused', 'account.resumed')
          AND metadata->>'accountId' = 'acct-e' ORDER BY id`,
    );
    expect(actions).toEqual([
      { action: 'account.paused', actor: 'env:ops:1' },
      { action: 'account.resumed', actor: 'env:ops:1' },
    ]);
  });

  it("an erased patient's held reply is never sent, and no longer counts as held", async () => {
    await addAccount('acct-f', 'token-f-0123456789');
    t.graph.acceptToken('token-f-0123456789', 'acct-f');
    expect((await request(t.url).post('/admin/accounts/instagram/acct-f/pause').set(ops())).status).toBe(200);
    expect(
      (await postWebhook(t, envelope([{ accountId: 'acct-f', senders: ['forget-0'], tag: 'forget' }]))).status,
    ).toBe(200);
    await waitFor(async () => (await replies('forget')).held?.n === 1, { message: 'the held reply' });

    const erased = await request(t.url)
      .post('/admin/erasure')
      .set(ops())
      .send({ provider: 'instagram', participantId: 'forget-0' });
    expect(erased.status).toBe(200);
    const left = await sql<{ status: string; category: string }>(
      `SELECT r.status, r.last_error_category AS category FROM replies r
         JOIN conversations c ON c.id = r.conversation_id WHERE c.account_id = 'acct-f'`,
    );
    expect(left).toEqual([{ status: 'failed', category: 'erased' }]);
    expect((await request(t.url).post('/admin/accounts/instagram/acct-f/resume').set(ops())).body.heldReplies).toBe(0);
    expect(sentTo('forget')).toHaveLength(0);
  });
});
