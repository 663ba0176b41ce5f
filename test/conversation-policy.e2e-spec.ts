import request from 'supertest';
import { Clock } from '../src/platform/clock';
import { ACCOUNT_ID, instagramEnvelope, messagingItem } from './support/meta-payloads';
import { postWebhook, startTestApp, TestApp } from './support/test-app';
import { waitFor } from './support/wait';

const OPS_KEY = 'conversation-policy-ops-key-0123456789';
const HOUR_MS = 3600_000;
const QUIET_ACCOUNT = '17841400000000777';

/**
 * The conversation policy against the real app, Postgres, Redis and the fake Graph API, with the clock moved
 * (never slept through) where the window, the handoff or the hours matter.
 */
describe('conversation policy: the 24 h window, staff handoff, business hours', () => {
  let t: TestApp;
  let clock: Clock;
  const ops = () => ({ authorization: `Bearer ${OPS_KEY}` });
  const sql = async <T>(text: string, values: unknown[] = []) => (await t.db.pool.query(text, values)).rows as T[];
  /** The clock reads `at` (or real time plus `offsetMs`) from now on. */
  const setClock = (moment: { at?: string; offsetMs?: number }) =>
    jest
      .spyOn(clock, 'now')
      .mockImplementation(() => (moment.at ? new Date(moment.at) : new Date(Date.now() + (moment.offsetMs ?? 0))));

  async function event(mid: string) {
    const [row] = await sql<{ id: string; status: string }>(
      `SELECT id, status FROM inbound_events WHERE meta_message_id = $1`,
      [mid],
    );
    return row;
  }
  const processed = (mid: string) =>
    waitFor(async () => (await event(mid))?.status === 'processed', { message: `${mid} processed` });
  async function reply(mid: string) {
    const [row] = await sql<{ status: string; skip_reason: string | null; attempts: number }>(
      `SELECT r.status, r.skip_reason, r.attempts FROM replies r JOIN inbound_events e ON e.id = r.event_id
        WHERE e.meta_message_id = $1`,
      [mid],
    );
    return row;
  }
  async function skippedAudit(mid: string) {
    return sql<{ outcome: string; metadata: Record<string, unknown> }>(
      `SELECT a.outcome, a.metadata FROM audit_log a JOIN inbound_events e ON e.id = a.event_id
        WHERE e.meta_message_id = $1 AND a.action = 'reply.skipped'`,
      [mid],
    );
  }
  async function dm(mid: string, sender: string, text = 'hello') {
    expect((await postWebhook(t, instagramEnvelope([messagingItem({ mid, sender, text })]))).status).toBe(200);
    await processed(mid);
  }
  async function deadLetters() {
    return (await sql<{ n: number }>(`SELECT count(*)::int AS n FROM dead_letters`))[0].n;
  }
  async function metric(name: string, labels: string): Promise<number> {
    const res = await request(t.url).get('/metrics');
    const line = res.text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
    return line ? Number(line.split(' ').pop()) : 0;
  }

  beforeAll(async () => {
    t = await startTestApp({
      env: {
        OPS_API_KEYS: OPS_KEY,
        BUSINESS_TIMEZONE: 'Europe/Berlin',
        BUSINESS_HOURS: JSON.stringify(
          Object.fromEntries(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((day) => [day, ['10:00-19:00']])),
        ),
        AUTO_REPLY_TEXT: 'We are open and will answer soon.',
        AUTO_REPLY_AFTER_HOURS_TEXT: 'We are closed; we answer from 10:00.',
      },
    });
    clock = t.app.get(Clock);
  });
  afterEach(() => jest.restoreAllMocks());
  afterAll(async () => {
    await t?.close();
  });

  it('a DM held by a paused account and released 25 h later: no Graph call, skipped, audited, no dead letter', async () => {
    setClock({ at: '2026-06-01T10:00:00Z' });
    expect((await request(t.url).post(`/admin/accounts/instagram/${ACCOUNT_ID}/pause`).set(ops())).status).toBe(200);
    expect(
      (await postWebhook(t, instagramEnvelope([messagingItem({ mid: 'm_win_held', sender: 'win-held' })]))).status,
    ).toBe(200);
    await waitFor(async () => (await reply('m_win_held'))?.status === 'held', { message: 'the reply held' });

    setClock({ offsetMs: 25 * HOUR_MS });
    expect((await request(t.url).post(`/admin/accounts/instagram/${ACCOUNT_ID}/resume`).set(ops())).status).toBe(200);
    await processed('m_win_held');

    expect(t.graph.repliesTo('win-held')).toHaveLength(0);
    expect(await reply('m_win_held')).toMatchObject({
      status: 'skipped',
      skip_reason: 'window_closed',
      attempts: 0,
    });
    expect(await skippedAudit('m_win_held')).toEqual([
      expect.objectContaining({
        outcome: 'skipped',
        metadata: expect.objectContaining({ reason: 'window_closed' }),
      }),
    ]);
    expect(JSON.stringify(await skippedAudit('m_win_held'))).not.toContain('hello');
    expect(await deadLetters()).toBe(0);
  });

  it('a DM processed 25 h after it arrived (a backlog): skipped window_closed, no Graph call, no dead letter', async () => {
    setClock({ offsetMs: 25 * HOUR_MS });
    await dm('m_win_late', 'win-late');
    expect(t.graph.repliesTo('win-late')).toHaveLength(0);
    expect(await reply('m_win_late')).toMatchObject({ status: 'skipped', skip_reason: 'window_closed' });
    expect(await skippedAudit('m_win_late')).toHaveLength(1);
    expect(await deadLetters()).toBe(0);
    expect(await metric('switchboard_replies_skipped_total', 'reason="window_closed"')).toBeGreaterThanOrEqual(1);
  });

  it('a staff echo silences the next 3 DMs; after HANDOFF_MINUTES the next one is answered', async () => {
    setClock({ at: '2026-06-01T10:00:00Z' });
    const before = await metric('switchboard_replies_skipped_total', 'reason="handoff"');
    const echo = messagingItem({ mid: 'm_staff_echo_1', sender: 'handoff-a', text: 'Hi, Dr. Lee here', isEcho: true });
    expect((await postWebhook(t, instagramEnvelope([echo]))).status).toBe(200);
    await processed('m_staff_echo_1');

    for (const n of [1, 2, 3]) await dm(`m_handoff_a${n}`, 'handoff-a');
    expect(t.graph.repliesTo('handoff-a')).toHaveLength(0);
    for (const n of [1, 2, 3]) {
      expect(await reply(`m_handoff_a${n}`)).toMatchObject({ status: 'skipped', skip_reason: 'handoff' });
      expect(await skippedAudit(`m_handoff_a${n}`)).toHaveLength(1);
    }
    expect(await metric('switchboard_replies_skipped_total', 'reason="handoff"')).toBe(before + 3);
    // The audit log (and the /ui audit page over it) filters on the decision.
    const audit = await request(t.url).get('/audit-logs').query({ reason: 'handoff', limit: 100 }).set(ops());
    expect(audit.status).toBe(200);
    expect(audit.body.items).toHaveLength(3);
    expect(audit.body.items.every((item: { action: string }) => item.action === 'reply.skipped')).toBe(true);
    const page = await request(t.url).get('/ui/audit');
    expect(page.text).toContain('<option value="handoff">');
    const handoffs = await request(t.url).get('/audit-logs').query({ action: 'conversation.handoff' }).set(ops());
    expect(handoffs.body.items).toEqual([
      expect.objectContaining({ metadata: expect.objectContaining({ source: 'echo', handoffMinutes: 240 }) }),
    ]);

    // HANDOFF_MINUTES (240) after the echo, plus a minute: the auto-reply is back.
    setClock({ offsetMs: 241 * 60_000 });
    await dm('m_handoff_a4', 'handoff-a');
    expect(await reply('m_handoff_a4')).toMatchObject({ status: 'sent' });
    expect(t.graph.repliesTo('handoff-a')).toHaveLength(1);
  });

  it('an echo of our own reply starts no handoff', async () => {
    setClock({ at: '2026-06-01T10:00:00Z' });
    await dm('m_own_1', 'own-echo');
    const [sent] = t.graph.repliesTo('own-echo');
    expect(sent).toBeDefined();
    const [{ provider_message_id: ourMid }] = await sql<{ provider_message_id: string }>(
      `SELECT r.provider_message_id FROM replies r JOIN inbound_events e ON e.id = r.event_id WHERE e.meta_message_id = 'm_own_1'`,
    );
    const echo = messagingItem({ mid: ourMid, sender: 'own-echo', text: 'We are open', isEcho: true });
    expect((await postWebhook(t, instagramEnvelope([echo]))).status).toBe(200);
    await waitFor(async () => (await sql(`SELECT 1 FROM messages WHERE meta_message_id = $1`, [ourMid])).length === 1, {
      message: 'the echo stored',
    });
    await waitFor(
      async () =>
        (
          await sql<{ status: string }>(
            `SELECT status FROM inbound_events WHERE kind = 'message_echo' AND meta_message_id = $1`,
            [ourMid],
          )
        )[0]?.status === 'processed',
      { message: 'the echo processed' },
    );
    await dm('m_own_2', 'own-echo');
    expect(await reply('m_own_2')).toMatchObject({ status: 'sent' });
    expect(t.graph.repliesTo('own-echo')).toHaveLength(2);
    const [conversation] = await sql<{ handoff_at: Date | null }>(
      `SELECT handoff_at FROM conversations WHERE participant_id = 'own-echo'`,
    );
    expect(conversation.handoff_at).toBeNull();
  });

  it('business hours in Europe/Berlin across the spring daylight-saving change', async () => {
    // 29 March 2026, 02:00 CET → 03:00 CEST. 10:00 local is 09:00Z the day before, 08:00Z the day after.
    setClock({ at: '2026-03-28T09:00:00Z' });
    await dm('m_hours_sat_10', 'hours-a');
    setClock({ at: '2026-03-30T08:00:00Z' });
    await dm('m_hours_mon_10', 'hours-b');
    setClock({ at: '2026-03-30T18:00:00Z' });
    await dm('m_hours_mon_20', 'hours-c');
    setClock({ at: '2026-03-30T07:30:00Z' });
    await dm('m_hours_mon_0930', 'hours-d');

    const text = (sender: string) => t.graph.repliesTo(sender).map((r) => r.body.message?.text);
    expect(text('hours-a')).toEqual(['We are open and will answer soon.']);
    expect(text('hours-b')).toEqual(['We are open and will answer soon.']);
    expect(text('hours-c')).toEqual(['We are closed; we answer from 10:00.']);
    expect(text('hours-d')).toEqual(['We are closed; we answer from 10:00.']);
  });

  it('an account whose after-hours text is empty sends nothing after hours (skipped after_hours_disabled)', async () => {
    const created = await request(t.url)
      .post('/admin/accounts')
      .set(ops())
      .send({
        provider: 'instagram',
        accountId: QUIET_ACCOUNT,
        accessToken: 'IGAAquiet-token-0123456789',
        autoReply: { text: 'Quiet clinic: thanks!', afterHoursText: '' },
      });
    expect(created.status).toBe(201);
    const quietDm = (mid: string, sender: string) =>
      JSON.stringify({
        object: 'instagram',
        entry: [
          {
            id: QUIET_ACCOUNT,
            time: Date.now(),
            messaging: [
              {
                sender: { id: sender },
                recipient: { id: QUIET_ACCOUNT },
                timestamp: Date.now(),
                message: { mid, text: 'hi' },
              },
            ],
          },
        ],
      });
    setClock({ at: '2026-03-30T18:00:00Z' });
    expect((await postWebhook(t, quietDm('m_quiet_20', 'quiet-a'))).status).toBe(200);
    await processed('m_quiet_20');
    setClock({ at: '2026-03-30T08:00:00Z' });
    expect((await postWebhook(t, quietDm('m_quiet_10', 'quiet-b'))).status).toBe(200);
    await processed('m_quiet_10');

    expect(t.graph.repliesTo('quiet-a')).toHaveLength(0);
    expect(await reply('m_quiet_20')).toMatchObject({ status: 'skipped', skip_reason: 'after_hours_disabled' });
    expect(await skippedAudit('m_quiet_20')).toHaveLength(1);
    expect(t.graph.repliesTo('quiet-b').map((r) => r.body.message?.text)).toEqual(['Quiet clinic: thanks!']);
  });

  it('a dead-letter replay dry run says per dead letter: replyable, needs HUMAN_AGENT, or window closed', async () => {
    // A permanent refusal (code 100): the reply's event is dead-lettered at once.
    t.graph.answerNext({
      status: 400,
      body: { error: { message: 'Invalid parameter', type: 'OAuthException', code: 100 } },
    });
    setClock({ at: '2026-06-01T10:00:00Z' });
    expect(
      (await postWebhook(t, instagramEnvelope([messagingItem({ mid: 'm_dry_1', sender: 'dry-run' })]))).status,
    ).toBe(200);
    await waitFor(async () => (await event('m_dry_1'))?.status === 'failed', { message: 'm_dry_1 dead-lettered' });
    const [letter] = await sql<{ id: string; event_id: string }>(
      `SELECT d.id, d.event_id FROM dead_letters d JOIN inbound_events e ON e.id = d.event_id WHERE e.meta_message_id = 'm_dry_1'`,
    );
    expect(letter).toBeDefined();
    const dryRun = async () => {
      const res = await request(t.url)
        .post('/admin/dead-letters/replay')
        .set(ops())
        .send({ ids: [letter.id], dryRun: true });
      expect(res.status).toBe(202);
      return res.body;
    };
    setClock({ offsetMs: HOUR_MS });
    expect(await dryRun()).toMatchObject({
      dryRun: true,
      matched: 1,
      windows: { replyable: 1, humanAgent: 0, windowClosed: 0 },
      letters: [{ id: letter.id, eventId: letter.event_id, window: 'replyable' }],
    });
    setClock({ offsetMs: 3 * 24 * HOUR_MS });
    expect((await dryRun()).letters).toEqual([expect.objectContaining({ window: 'human_agent' })]);
    setClock({ offsetMs: 8 * 24 * HOUR_MS });
    expect(await dryRun()).toMatchObject({ windows: { windowClosed: 1 }, letters: [{ window: 'window_closed' }] });

    // Replayed 25 h on, its reply is skipped (window_closed) instead of failing again at Meta.
    setClock({ offsetMs: 25 * HOUR_MS });
    const calls = t.graph.repliesTo('dry-run').length;
    expect((await request(t.url).post(`/admin/dead-letters/${letter.id}/replay`).set(ops())).status).toBe(202);
    await processed('m_dry_1');
    expect(t.graph.repliesTo('dry-run')).toHaveLength(calls);
    expect(await reply('m_dry_1')).toMatchObject({ status: 'skipped', skip_reason: 'window_closed' });
  });
});
