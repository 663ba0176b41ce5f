import { Queue } from 'bullmq';
import { execFileSync } from 'node:child_process';
import request from 'supertest';
import { TOKEN_REFRESH_SCHEDULER_ID } from '../src/ops/maintenance/maintenance.scheduler';
import { Clock } from '../src/platform/clock';
import { JobName, QueueName } from '../src/platform/queue/queue-names';
import { dumpKey, scanAll } from './support/redis-contents';
import { openQueue, postWebhook, startTestApp, TestApp } from './support/test-app';
import { waitFor } from './support/wait';
import { WebhookReceiver } from './support/webhook-receiver';

const OPS_KEY = 'accounts-admin-ops-key-0123456789';
const STAFF_KEY = 'accounts-admin-staff-key-01234567';
const DAY_MS = 24 * 3600 * 1000;

function dm(accountId: string, sender: string, mid: string): string {
  const now = Date.now();
  return JSON.stringify({
    object: 'instagram',
    entry: [
      {
        id: accountId,
        time: now,
        messaging: [
          { sender: { id: sender }, recipient: { id: accountId }, timestamp: now, message: { mid, text: 'hi' } },
        ],
      },
    ],
  });
}

/** /admin/accounts: the operators' surface, the token lifecycle, and where a token may never appear. */
describe('accounts: admin API, token refresh, and the token never shown', () => {
  let t: TestApp;
  let receiver: WebhookReceiver;
  let maintenance: Queue;
  /** Every admin answer's body, for the marker check. */
  const answers: string[] = [];
  const ops = () => ({ authorization: `Bearer ${OPS_KEY}` });
  const sql = async <T>(text: string, values: unknown[] = []) => (await t.db.pool.query(text, values)).rows as T[];

  async function admin(method: 'get' | 'post' | 'patch' | 'delete', path: string, body?: unknown) {
    const call = request(t.url)[method](path).set(ops());
    const res = await (body === undefined ? call : call.send(body as object));
    answers.push(res.text ?? '');
    return res;
  }

  const notices = (type: string) =>
    receiver.received.filter((delivery) => delivery.path === '/ops' && JSON.parse(delivery.body).type === type);

  const metric = async (name: string, labels: string) => {
    const res = await request(t.url).get('/metrics');
    answers.push(res.text);
    const line = res.text.split('\n').find((candidate) => candidate.startsWith(`${name}{${labels}}`));
    return line === undefined ? undefined : Number(line.split(' ').pop());
  };

  beforeAll(async () => {
    receiver = new WebhookReceiver();
    await receiver.start();
    t = await startTestApp({
      env: { OPS_API_KEYS: OPS_KEY, STAFF_API_KEYS: STAFF_KEY, OUTBOUND_ALLOW_PRIVATE_NETWORKS: 'true' },
    });
    maintenance = openQueue(t, QueueName.Maintenance);
    const res = await admin('post', '/endpoints', { url: receiver.url('/ops'), events: ['switchboard.*'] });
    expect(res.status).toBe(201);
  });
  afterEach(() => jest.restoreAllMocks());
  afterAll(async () => {
    await maintenance?.close();
    await t?.close();
    await receiver?.stop();
  });

  it('is for ops keys only', async () => {
    expect((await request(t.url).get('/admin/accounts')).status).toBe(401);
    const staff = await request(t.url).get('/admin/accounts').set('authorization', `Bearer ${STAFF_KEY}`);
    expect(staff.status).toBe(403);
  });

  it('adds, reads, changes and removes an account, audited with the actor; the token is never answered', async () => {
    const created = await admin('post', '/admin/accounts', {
      provider: 'instagram',
      accountId: '17841400000000777',
      accessToken: 'IGAAcrud-token-0123456789',
      tokenExpiresAt: '2031-01-01T00:00:00.000Z',
      displayName: 'Clinic, Lisbon branch',
      timezone: 'Europe/Lisbon',
      businessHours: { sat: ['09:00-12:00'], mon: ['09:00-13:00', '14:00-18:00'] },
      autoReply: { enabled: true, text: 'We will answer soon.', afterHoursText: '' },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      provider: 'instagram',
      accountId: '17841400000000777',
      displayName: 'Clinic, Lisbon branch',
      status: 'active',
      tokenSource: 'account',
      tokenExpiresAt: '2031-01-01T00:00:00.000Z',
      tokenRefreshedAt: null,
      timezone: 'Europe/Lisbon',
      businessHours: { mon: ['09:00-13:00', '14:00-18:00'], sat: ['09:00-12:00'] },
      autoReply: { enabled: true, text: 'We will answer soon.', afterHoursText: '' },
      heldReplies: 0,
    });
    expect(created.text).not.toContain('IGAAcrud');
    expect(Object.keys(created.body)).not.toContain('accessToken');

    const again = await admin('post', '/admin/accounts', {
      provider: 'instagram',
      accountId: '17841400000000777',
      accessToken: 'IGAAother-token-0123456789',
    });
    expect(again.status).toBe(409);

    const list = await admin('get', '/admin/accounts');
    expect(list.status).toBe(200);
    expect(list.body.environmentTokens).toEqual({ instagram: true, facebook: false, whatsapp: false });
    expect(list.body.items.map((item: { accountId: string }) => item.accountId)).toContain('17841400000000777');

    const patched = await admin('patch', '/admin/accounts/instagram/17841400000000777', {
      displayName: 'Lisbon',
      timezone: null,
      accessToken: 'IGAAcrud-token-second-0123',
    });
    expect(patched.status).toBe(200);
    // A new token without an expiry: the expiry is unknown (the old one belonged to the old token).
    expect(patched.body).toMatchObject({ displayName: 'Lisbon', timezone: null, tokenExpiresAt: null });
    expect((await admin('get', '/admin/accounts/instagram/17841400000000777')).body.displayName).toBe('Lisbon');

    expect((await admin('delete', '/admin/accounts/instagram/17841400000000777')).status).toBe(204);
    expect((await admin('get', '/admin/accounts/instagram/17841400000000777')).status).toBe(404);
    expect((await admin('delete', '/admin/accounts/instagram/17841400000000777')).status).toBe(404);
    expect((await admin('patch', '/admin/accounts/instagram/17841400000000777', { displayName: 'x' })).status).toBe(
      404,
    );

    const audit = await sql<{ action: string; actor: string; metadata: Record<string, unknown> }>(
      `SELECT action, actor, metadata FROM audit_log WHERE metadata->>'accountId' = '17841400000000777' ORDER BY id`,
    );
    expect(audit.map((entry) => [entry.action, entry.actor])).toEqual([
      ['account.created', 'env:ops:1'],
      ['account.updated', 'env:ops:1'],
      ['account.deleted', 'env:ops:1'],
    ]);
    expect(audit[1].metadata).toMatchObject({ fields: ['displayName', 'timezone', 'accessToken'], tokenChanged: true });
  });

  it.each([
    ['an unknown time zone', { timezone: 'Mars/Olympus_Mons' }, /timezone is not a time zone/],
    ['a time zone that is not a name', { timezone: 'not a zone' }, /timezone must be an IANA time zone name/],
    [
      'hours that end before they start',
      { businessHours: { mon: ['18:00-09:00'] } },
      /businessHours\.mon\[0\] must be "HH:MM-HH:MM"/,
    ],
    [
      'a day that is not a weekday',
      { businessHours: { monday: ['09:00-18:00'] } },
      /businessHours may name the days mon, tue/,
    ],
    [
      'overlapping hours',
      { businessHours: { mon: ['09:00-13:00', '12:00-18:00'] } },
      /businessHours\.mon\[1\] overlaps/,
    ],
    ['hours that are not per day', { businessHours: ['09:00-18:00'] }, /businessHours must be an object/],
    [
      'an unknown auto-reply field',
      { autoReply: { txt: 'hello' } },
      /autoReply may hold enabled, text and afterHoursText only/,
    ],
    ['a non-boolean enabled', { autoReply: { enabled: 'yes' } }, /autoReply\.enabled must be true or false/],
    [
      'a reply text over 1000 characters',
      { autoReply: { text: 'long text '.repeat(101) } },
      /autoReply\.text must be a text of 1 to 1000/,
    ],
    ['a token with spaces', { accessToken: 'has a space in it' }, /accessToken must be 8 to 4096 printable characters/],
    [
      'an expiry that is not a date',
      { tokenExpiresAt: 'next tuesday' },
      /tokenExpiresAt must be an ISO 8601 date-time/,
    ],
    ['an unknown provider', { provider: 'telegram' }, /provider must be one of/],
    ['an account id with a path in it', { accountId: '../etc' }, /accountId may hold letters, digits/],
    ['an unknown field', { color: 'blue' }, /property color should not exist/],
  ])('refuses %s with 400 naming the field', async (_case, change, message) => {
    const body = { provider: 'instagram', accountId: 'acct-invalid', accessToken: 'IGAAvalid-token-01234', ...change };
    const res = await admin('post', '/admin/accounts', body);
    expect(res.status).toBe(400);
    expect([res.body.message].flat().join('; ')).toMatch(message);
    expect(res.text).not.toContain('Olympus');
  });

  it('pauses an account that is not in the table (it keeps the environment token) and resumes it', async () => {
    const paused = await admin('post', '/admin/accounts/instagram/acct-env-paused/pause');
    expect(paused.status).toBe(200);
    expect(paused.body).toMatchObject({ status: 'paused', tokenSource: 'environment', pausedBy: 'env:ops:1' });
    const resumed = await admin('post', '/admin/accounts/instagram/acct-env-paused/resume');
    expect(resumed.body).toMatchObject({ status: 'active', pausedAt: null });
    expect((await admin('post', '/admin/accounts/instagram/nobody/resume')).status).toBe(404);
  });

  it('refreshes a token 5 days from expiry in the daily job; the next reply uses it; a refused refresh is audited, counted and raised once', async () => {
    const clock = t.app.get(Clock);
    const start = Date.now();
    const expiresIn = (days: number) => new Date(start + days * DAY_MS).toISOString();
    t.graph.acceptToken('test-access-token', 'env');
    t.graph.acceptToken('IGAAdue-token-0123456789', 'acct-due');
    t.graph.acceptToken('IGAArefused-token-012345', 'acct-refused');
    t.graph.acceptToken('IGAAlater-token-01234567', 'acct-later');
    t.graph.refuseRefreshOf('IGAArefused-token-012345');
    for (const [accountId, token, days] of [
      ['acct-due', 'IGAAdue-token-0123456789', 30],
      ['acct-refused', 'IGAArefused-token-012345', 31],
      ['acct-later', 'IGAAlater-token-01234567', 45],
    ] as const) {
      const res = await admin('post', '/admin/accounts', {
        provider: 'instagram',
        accountId,
        accessToken: token,
        tokenExpiresAt: expiresIn(days),
      });
      expect(res.status).toBe(201);
    }
    expect(
      await metric('switchboard_account_token_expiry_days', 'provider="instagram",account_id="acct-later"'),
    ).toBeCloseTo(45, 0);

    // 25 days on: acct-due expires in 5 days, acct-refused in 6 (both within TOKEN_REFRESH_BEFORE_DAYS=10), acct-later in 20.
    const later = jest.spyOn(clock, 'now').mockImplementation(() => new Date(Date.now() + 25 * DAY_MS));
    const scheduler = await waitFor(() => maintenance.getJobScheduler(TOKEN_REFRESH_SCHEDULER_ID), {
      message: 'the token refresh scheduler',
    });
    expect(scheduler).toMatchObject({ name: JobName.RefreshAccountTokens, pattern: '45 2 * * *', tz: 'UTC' });
    const job = await maintenance.add(JobName.RefreshAccountTokens, {});
    await waitFor(async () => (await maintenance.getJob(job.id!))?.finishedOn, {
      message: 'the refresh job to finish',
    });

    expect(t.graph.refreshRequests.map((r) => [r.grantType, r.token])).toEqual([
      ['ig_refresh_token', 'IGAAdue-token-0123456789'],
      ['ig_refresh_token', 'IGAArefused-token-012345'],
    ]);
    const due = (await admin('get', '/admin/accounts/instagram/acct-due')).body;
    expect(due.status).toBe('active');
    expect(Date.parse(due.tokenRefreshedAt)).toBeGreaterThan(start + 24 * DAY_MS);
    expect(Date.parse(due.tokenExpiresAt)).toBeGreaterThan(start + 84 * DAY_MS);
    expect((await admin('get', '/admin/accounts/instagram/acct-later')).body.tokenRefreshedAt).toBeNull();

    // Back to the real time for the DM: its receive time is Postgres' clock, and Meta's 24-hour window is counted
    // from it (a clock 25 days on would find the window closed and skip the reply).
    later.mockRestore();
    expect((await postWebhook(t, dm('acct-due', 'refresh-patient', 'm_refresh_1'))).status).toBe(200);
    await waitFor(() => t.graph.repliesTo('refresh-patient').length === 1);
    expect(t.graph.repliesTo('refresh-patient')[0].authorization).toBe('Bearer IGAAdue-token-0123456789.renewed');

    // Refused: the account keeps its token and stays active; audited, counted, one operational event.
    const refused = (await admin('get', '/admin/accounts/instagram/acct-refused')).body;
    expect(refused).toMatchObject({ status: 'active', tokenRefreshedAt: null });
    const labels = 'provider="instagram",category="auth"';
    expect(await metric('switchboard_account_token_refresh_failures_total', labels)).toBe(1);
    const onDemand = await admin('post', '/admin/accounts/instagram/acct-refused/refresh-token');
    expect(onDemand.status).toBe(502);
    expect(onDemand.body.message).toBe('Meta did not refresh the token (auth)');
    expect(await metric('switchboard_account_token_refresh_failures_total', labels)).toBe(2);
    const audit = await sql<{ action: string; outcome: string; actor: string; metadata: Record<string, unknown> }>(
      `SELECT action, outcome, actor, metadata FROM audit_log
        WHERE action LIKE 'account.token_refresh%' ORDER BY id`,
    );
    expect(audit.map((entry) => [entry.action, entry.outcome, entry.metadata.accountId, entry.actor])).toEqual([
      ['account.token_refreshed', 'success', 'acct-due', 'system'],
      ['account.token_refresh_failed', 'failure', 'acct-refused', 'system'],
      ['account.token_refresh_failed', 'failure', 'acct-refused', 'env:ops:1'],
    ]);
    await waitFor(() => notices('switchboard.account.token_refresh_failed').length > 0);
    const raised = notices('switchboard.account.token_refresh_failed');
    expect(raised).toHaveLength(1);
    expect(JSON.parse(raised[0].body).data).toMatchObject({
      provider: 'instagram',
      accountId: 'acct-refused',
      category: 'auth',
    });

    // On demand, for a token that is fine: refreshed now, whatever its expiry.
    const now = await admin('post', '/admin/accounts/instagram/acct-later/refresh-token');
    expect(now.status).toBe(200);
    expect(now.body.tokenRefreshedAt).not.toBeNull();
    // Seen with the clock 25 days on: acct-later's new token expires 60 days after that.
    expect(
      await metric('switchboard_account_token_expiry_days', 'provider="instagram",account_id="acct-later"'),
    ).toBeCloseTo(60, 0);
  });

  it('never shows a token: not in logs, Redis, the database dump, metrics, the audit log or any admin answer', async () => {
    const marker = `TOKENMARKER${Date.now()}x${Math.random().toString(36).slice(2)}`;
    const first = `IGAA${marker}first`;
    const second = `IGAA${marker}second`;
    t.graph.acceptToken('test-access-token', 'env');
    t.graph.acceptToken(first, 'acct-marker');
    expect(
      (
        await admin('post', '/admin/accounts', {
          provider: 'instagram',
          accountId: 'acct-marker',
          accessToken: first,
          tokenExpiresAt: new Date(Date.now() + 3 * DAY_MS).toISOString(),
        })
      ).status,
    ).toBe(201);
    expect((await postWebhook(t, dm('acct-marker', 'marker-patient-1', 'm_marker_1'))).status).toBe(200);
    await waitFor(() => t.graph.repliesTo('marker-patient-1').length === 1);
    // Refreshed (its renewed token holds the marker too), refused by the Graph API (190), replaced by PATCH.
    expect((await admin('post', '/admin/accounts/instagram/acct-marker/refresh-token')).status).toBe(200);
    t.graph.revokeToken(`${first}.renewed`);
    expect((await postWebhook(t, dm('acct-marker', 'marker-patient-2', 'm_marker_2'))).status).toBe(200);
    await waitFor(
      async () => (await admin('get', '/admin/accounts/instagram/acct-marker')).body.status === 'needs_token',
    );
    // A refresh Meta refuses (the token was revoked): logged, audited, counted, raised; still no token anywhere.
    expect((await admin('post', '/admin/accounts/instagram/acct-marker/refresh-token')).status).toBe(502);
    t.graph.acceptToken(second, 'acct-marker');
    expect((await admin('patch', '/admin/accounts/instagram/acct-marker', { accessToken: second })).status).toBe(200);
    await waitFor(() => t.graph.repliesTo('marker-patient-2').some((r) => r.authorization === `Bearer ${second}`));
    await admin('post', '/admin/accounts/instagram/acct-marker/pause');
    await admin('get', '/admin/accounts');
    answers.push((await request(t.url).get('/health/ready')).text);
    answers.push((await request(t.url).get('/audit-logs?limit=500').set(ops())).text);
    await metric('switchboard_account_needs_token', 'x');

    expect(t.graph.requests.filter((r) => r.authorization?.includes(marker)).length).toBeGreaterThanOrEqual(2);
    for (const answer of answers) expect(answer).not.toContain(marker);
    expect(t.logs()).not.toContain(marker);
    for (const key of await scanAll(t)) {
      expect(key).not.toContain(marker);
      expect(await dumpKey(t, key)).not.toContain(marker);
    }
    const dump = execFileSync('pg_dump', ['--data-only', t.db.url], { maxBuffer: 256 * 1024 * 1024 }).toString(
      'latin1',
    );
    expect(dump).toContain('acct-marker');
    expect(dump).not.toContain(marker);
    expect(dump).not.toContain(Buffer.from(marker).toString('hex'));
    const audit = await sql<{ dump: string }>(
      `SELECT coalesce(string_agg(a::text, '\n'), '') AS dump FROM audit_log a`,
    );
    expect(audit[0].dump).toContain('account.needs_token');
    expect(audit[0].dump).not.toContain(marker);
  });
});
