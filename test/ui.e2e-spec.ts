import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BrowserContext, chromium, Page } from 'playwright-core';
import { instagramEnvelope, messagingItem, sign } from './support/meta-payloads';
import { openQueue, TestApp, postWebhook, startTestApp } from './support/test-app';
import { waitFor } from './support/wait';

const OPS_KEY = 'ui-ops-key-0123456789abcdefxxxxx';
const STAFF_KEY = 'ui-staff-key-0123456789abcdefxxx';
/** Screenshots refresh the README's images with UPDATE_SCREENSHOTS=1; otherwise they go to test/.artifacts (ignored). */
const DOCS = process.env.UPDATE_SCREENSHOTS === '1' ? join(__dirname, '..', 'docs') : join(__dirname, '.artifacts');
/** Debian's chromium (`apt-get install -y chromium`; .ci/run installs it when missing). */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** The web pages in real headless Chromium (Debian's), against the real app, its database and queues. */
describe('web pages (headless Chromium)', () => {
  let t: TestApp;
  let context: BrowserContext;
  let userDataDir: string;
  let page: Page;
  let deadLetterId: string;
  let eventId: string;
  /** Uncaught page errors and Content-Security-Policy violations: there must be none. */
  const pageProblems: string[] = [];

  const post = (body: string) => postWebhook(t, body);

  async function newPage(): Promise<Page> {
    const created = await context.newPage();
    created.on('pageerror', (error) => pageProblems.push(`page error: ${error.message}`));
    created.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) pageProblems.push(`CSP: ${message.text()}`);
    });
    return created;
  }

  async function signIn(target: Page, key: string): Promise<void> {
    await target.goto(`${t.url}/ui`);
    await target.getByLabel('API key').fill(key);
    await target.getByRole('button', { name: 'Sign in' }).click();
  }

  const statusSays = (target: Page, text: string | RegExp) =>
    target.getByRole('status').filter({ hasText: text }).waitFor();

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM}: apt-get install -y chromium`);
    t = await startTestApp({ env: { OPS_API_KEYS: OPS_KEY, STAFF_API_KEYS: STAFF_KEY } });
    userDataDir = mkdtempSync(join(tmpdir(), 'switchboard-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
      viewport: { width: 1280, height: 800 },
      timezoneId: 'UTC',
      locale: 'en-GB',
    });
    context.setDefaultTimeout(10_000);
    page = await newPage();
    mkdirSync(DOCS, { recursive: true });

    // One reply refused as outside the 24-hour window (policy: dead-lettered at once), one unreadable body.
    t.graph.answerNext({ status: 400, body: { error: { code: 10, error_subcode: 2018278, type: 'OAuthException' } } });
    expect(
      (
        await post(
          instagramEnvelope([
            messagingItem({ mid: 'm_ui_late', sender: 'ui-patient', text: 'Is the clinic open on Sunday?' }),
          ]),
        )
      ).status,
    ).toBe(200);
    expect((await post('{"object": "instagram", "entry": [')).status).toBe(200);
    const letter = await waitFor(
      async () =>
        (
          await t.db.pool.query<{ id: string; event_id: string }>(
            `SELECT d.id, d.event_id FROM dead_letters d JOIN inbound_events e ON e.id = d.event_id WHERE e.meta_message_id = 'm_ui_late'`,
          )
        ).rows[0],
      { message: 'the dead letter' },
    );
    deadLetterId = letter.id;
    eventId = letter.event_id;
  });

  afterAll(async () => {
    await context?.close();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
    await t?.close();
  });

  it('serves the pages with a strict Content-Security-Policy and refuses a wrong key with a clear message', async () => {
    const response = await page.goto(`${t.url}/ui`);
    const csp = response!.headers()['content-security-policy'];
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain('unsafe-inline');

    await signIn(page, 'not-a-key');
    await statusSays(page, 'not accepted (401)');
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
  });

  it('signs in with an ops key and shows its role', async () => {
    await signIn(page, OPS_KEY);
    await statusSays(page, 'Signed in with an ops key');
    await page.getByText('This is an ops key').waitFor();
    expect(await page.evaluate("sessionStorage.getItem('switchboard.apiKey')")).toBe(OPS_KEY);
    await page.screenshot({ path: join(DOCS, 'ui-sign-in.png') });
  });

  it('filters the audit log by event id and downloads it as CSV', async () => {
    await page.getByRole('link', { name: 'Audit log' }).first().click();
    await statusSays(page, /Showing \d+ entr/);
    await page.getByLabel('Event id').fill(eventId);
    await page.getByRole('button', { name: 'Search' }).click();
    // The unfiltered rows are replaced by this event's entries only.
    await waitFor(
      async () => {
        const eventIds = await page.locator('#rows tr td:nth-child(5)').allTextContents();
        return eventIds.length > 0 && eventIds.every((id) => id === eventId);
      },
      { message: "only the event's entries" },
    );
    const actions = await page.locator('#rows tr td:nth-child(2)').allTextContents();
    expect(actions).toEqual(expect.arrayContaining(['event.received', 'event.dead_lettered']));
    expect(await page.content()).not.toContain('Sunday');
    await page.screenshot({ path: join(DOCS, 'ui-audit-log.png'), fullPage: true });

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download CSV' }).click(),
    ]);
    const csv = readFileSync((await download.path())!, 'utf8');
    expect(csv.split('\n')[0]).toMatch(/action/);
    expect(csv).toContain('event.dead_lettered');
    expect(csv).not.toContain('Sunday');
  });

  it('inspects a dead letter, counts a bulk replay by dry run, replays it and sees it leave the list', async () => {
    await page.getByRole('link', { name: 'Dead letters' }).click();
    const row = page.locator(`#rows tr[data-id="${deadLetterId}"]`);
    await row.waitFor();
    expect(await page.locator('#rows tr[data-id]').count()).toBe(2);
    expect(await row.getByRole('link', { name: eventId }).getAttribute('href')).toBe(`/ui/audit?eventId=${eventId}`);
    await page.screenshot({ path: join(DOCS, 'ui-dead-letters.png'), fullPage: true });

    await row.getByRole('button', { name: /Inspect/ }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText('Graph API answered 400 (code 10, subcode 2018278)').first().waitFor();
    await page.screenshot({ path: join(DOCS, 'ui-dead-letter-inspect.png') });
    await dialog.getByLabel('Reason for opening it').fill('patient asked why no reply came');
    await dialog.getByRole('button', { name: 'Show payload' }).click();
    await dialog.locator('pre.payload').filter({ hasText: 'Is the clinic open on Sunday?' }).waitFor();
    // Escape closes the dialog and gives keyboard focus back to the button that opened it.
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    expect(await page.evaluate("document.activeElement.getAttribute('aria-label')")).toBe(
      `Inspect dead letter ${deadLetterId}`,
    );
    await waitFor(
      async () =>
        (
          await t.db.pool.query(
            `SELECT 1 FROM audit_log WHERE action = 'deadletter.payload_viewed' AND actor = 'env:ops:1'
                AND metadata->>'reason' = 'patient asked why no reply came'`,
          )
        ).rowCount === 1,
      { message: 'the payload view audited' },
    );

    await page.getByRole('button', { name: 'Replay all matching…' }).click();
    const confirm = page.getByRole('dialog', { name: 'Replay every matching dead letter?' });
    await confirm.getByText('Dry run: 1 pending dead letter matching the current filters would be replayed').waitFor();
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    await statusSays(page, 'nothing was replayed');

    // The unreadable body is read again, still cannot be, and stays: the page says why.
    await page
      .locator(`#rows tr[data-id]:not([data-id="${deadLetterId}"])`)
      .getByRole('button', { name: /^Replay/ })
      .click();
    await statusSays(page, 'answered 409');

    await row.getByRole('button', { name: /^Replay/ }).click();
    await statusSays(page, `Dead letter ${deadLetterId} replayed`);
    await row.waitFor({ state: 'detached' });
    expect(await page.locator('#rows tr[data-id]').count()).toBe(1);
    await waitFor(() => t.graph.repliesTo('ui-patient').length === 2, { message: 'the replayed reply sent' });

    // A purge up to today keeps everything younger than DLQ_RETENTION_DAYS, and says so.
    await page.getByLabel('Dead-lettered before', { exact: true }).fill(new Date().toISOString().slice(0, 10));
    await page.getByRole('button', { name: 'Purge…' }).click();
    await page
      .getByRole('dialog', { name: 'Purge dead letters permanently?' })
      .getByRole('button', { name: 'Purge' })
      .click();
    await statusSays(page, /0 dead letters purged\. The date was inside the 30-day retention period/);
    expect(await page.locator('#rows tr[data-id]').count()).toBe(1);
  });

  it('shows live queue counts and a throughput chart', async () => {
    await page.getByRole('link', { name: 'Queues' }).click();
    const inbound = page.locator('section', { has: page.getByRole('heading', { name: 'inbound-events' }) });
    await inbound.locator('[data-figure="completed"]').waitFor();
    expect(await inbound.locator('[data-figure="averageMs"]').textContent()).toMatch(/^\d+ ms$/);

    // Twenty more messages between two readings: the chart rises (polled every 3 s).
    const batch = Array.from({ length: 20 }, (_, i) => messagingItem({ mid: `m_ui_q${i}`, sender: `ui-q${i}` }));
    expect((await post(instagramEnvelope(batch))).status).toBe(200);
    await waitFor(
      async () => Number(await inbound.locator('[data-figure="throughputLastMinute"]').textContent()) >= 20,
      { timeoutMs: 10_000, message: 'the throughput figure to rise' },
    );
    await inbound.locator('svg.chart polyline').waitFor({ state: 'attached' });
    await page.screenshot({ path: join(DOCS, 'ui-queues.png') });
  });

  it('adds an account, pauses it (its reply is held), resumes it and gives it a new token; the token is never shown', async () => {
    const token = 'ui-account-token-0123456789abcdef';
    await page.getByRole('link', { name: 'Accounts' }).click();
    await page.getByText('No accounts yet').waitFor();
    await page.getByText('reply with the environment token of: Instagram').waitFor();

    await page.getByLabel('Account id').fill('17841400000000999');
    await page.getByLabel('Name (optional)').fill('Lisbon branch');
    await page.getByLabel('Access token', { exact: true }).fill(token);
    await page.getByRole('button', { name: 'Add account' }).click();
    await statusSays(page, 'Account Lisbon branch added.');
    const row = page.locator('#rows tr[data-account="instagram:17841400000000999"]');
    await row.getByText('active').waitFor();
    expect(await row.getByRole('cell').nth(2).textContent()).toBe('its own');
    expect(await page.getByLabel('Access token', { exact: true }).inputValue()).toBe('');

    await row.getByRole('button', { name: 'Pause Lisbon branch' }).click();
    await statusSays(page, 'Lisbon branch paused');
    await row.getByText('paused').waitFor();
    const dm = JSON.stringify({
      object: 'instagram',
      entry: [
        {
          id: '17841400000000999',
          time: Date.now(),
          messaging: [
            {
              sender: { id: 'ui-held-patient' },
              recipient: { id: '17841400000000999' },
              timestamp: Date.now(),
              message: { mid: 'm_ui_held', text: 'hello' },
            },
          ],
        },
      ],
    });
    expect((await post(dm)).status).toBe(200);
    await waitFor(
      async () => {
        await page.getByRole('button', { name: 'Reload' }).click();
        return (await row.locator('[data-figure="held"]').textContent()) === '1';
      },
      { message: 'one held reply shown' },
    );
    expect(t.graph.repliesTo('ui-held-patient')).toHaveLength(0);
    await page.screenshot({ path: join(DOCS, 'ui-accounts.png'), fullPage: true });

    await row.getByRole('button', { name: 'Resume Lisbon branch' }).click();
    await statusSays(page, 'Lisbon branch resumed');
    await waitFor(() => t.graph.repliesTo('ui-held-patient').length === 1, { message: 'the held reply sent' });
    expect(t.graph.repliesTo('ui-held-patient')[0].authorization).toBe(`Bearer ${token}`);

    const opener = row.getByRole('button', { name: 'Set a new token for Lisbon branch' });
    await opener.click();
    const dialog = page.getByRole('dialog', { name: 'New token' });
    await dialog.getByLabel('New access token').fill(`${token}-second`);
    await dialog.getByRole('button', { name: 'Save token' }).click();
    await statusSays(page, 'New token saved for Lisbon branch');
    await dialog.waitFor({ state: 'hidden' });
    expect(await page.evaluate("document.activeElement.getAttribute('aria-label')")).toBe(
      'Set a new token for Lisbon branch',
    );
    expect(await page.content()).not.toContain(token);
  });

  it("shows a patient's access report: the payload view, its reason, and the replay", async () => {
    await page.getByRole('link', { name: 'Access report' }).click();
    await page.getByLabel('Patient id (as Meta sends it)').fill('ui-patient');
    await page.getByRole('button', { name: 'Show accesses' }).click();
    const viewed = page.locator('#rows tr').filter({ hasText: 'Payload viewed' });
    await viewed.filter({ hasText: 'patient asked why no reply came' }).waitFor();
    expect(await viewed.first().textContent()).toContain('env:ops:1');
    await page.screenshot({ path: join(DOCS, 'ui-access-report.png'), fullPage: true });
  });

  it('shows a running bulk replay with its progress and cancels it', async () => {
    // 3,000 dead letters, and no inbound worker taking jobs: the paced replay holds at its high water.
    await t.db.pool.query(
      `WITH receipt AS (
         INSERT INTO webhook_receipts (id, provider, correlation_id, body_bytes, event_count)
         VALUES (gen_random_uuid(), 'instagram', 'seed', 0, 3000) RETURNING id
       ), events AS (
         INSERT INTO inbound_events (id, receipt_id, provider, kind, channel, idempotency_key, correlation_id, status)
         SELECT gen_random_uuid(), receipt.id, 'instagram', 'read', 'messaging', 'ui-op:' || g, 'seed-' || g, 'failed'
           FROM receipt, generate_series(1, 3000) g
         RETURNING id, correlation_id
       )
       INSERT INTO dead_letters (id, event_id, provider, correlation_id, category, error, attempts)
       SELECT gen_random_uuid(), id, 'instagram', correlation_id, 'timeout', 'no answer in time', 3 FROM events`,
    );
    const inbound = openQueue(t, 'inbound-events');
    await inbound.pause();
    try {
      const started = await fetch(`${t.url}/admin/dead-letters/replay`, {
        method: 'POST',
        headers: { authorization: `Bearer ${OPS_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ filter: { category: 'timeout' } }),
      }).then((res) => res.json() as Promise<{ operationId: string }>);

      await page.getByRole('link', { name: 'Operations' }).click();
      const row = page.locator(`#rows tr[data-id="${started.operationId}"]`);
      await row.filter({ hasText: '2,500 of 3,000' }).waitFor({ timeout: 15_000 });
      expect(await row.getByRole('progressbar').getAttribute('value')).toBe('2500');
      await page.screenshot({ path: join(DOCS, 'ui-operations.png') });

      await row.getByRole('button', { name: `Cancel operation ${started.operationId}` }).click();
      await statusSays(page, 'Operation cancelled after 2,500 of 3,000.');
      await page.locator(`#rows tr[data-id="${started.operationId}"][data-status="cancelled"]`).waitFor();
      expect(await row.getByRole('button', { name: /Cancel/ }).count()).toBe(0);
    } finally {
      await inbound.resume();
      await inbound.close();
    }
  });

  it('lets a staff key read the audit log but refuses it the dead-letter page', async () => {
    const staff = await newPage();
    await signIn(staff, STAFF_KEY);
    await statusSays(staff, 'Signed in with a staff key');
    expect(await staff.getByRole('link', { name: 'Dead letters' }).count()).toBe(0);
    expect(await staff.getByRole('link', { name: 'Accounts' }).count()).toBe(0);
    await staff.getByRole('link', { name: 'Audit log' }).first().click();
    // More than a page of entries by now: the cursor's next page comes after the first one.
    await statusSays(staff, 'Showing 50 entries; more are available.');
    await staff.getByRole('button', { name: 'Load more' }).click();
    await statusSays(staff, /Showing (5[1-9]|[6-9]\d|\d{3,}) entries/);
    expect(await staff.locator('#rows tr').count()).toBeGreaterThan(50);

    await staff.goto(`${t.url}/ui/dead-letters`);
    await staff.getByRole('alert').filter({ hasText: '(403)' }).waitFor();
    await staff.getByRole('heading', { name: 'This page needs an ops key' }).waitFor();
    await staff.close();

    expect(pageProblems).toEqual([]);
  });
});
