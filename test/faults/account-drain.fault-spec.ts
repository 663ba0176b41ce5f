import request from 'supertest';
import { ACCOUNT_ID } from '../support/meta-payloads';
import { startTestApp, TestApp } from '../support/test-app';
import { waitFor } from '../support/wait';
import { expectEverythingProcessedOnce, killAndWait, log, mids, outcome, postBurst, startWorker } from './support';

const OPS_KEY = 'account-drain-ops-key-0123456789ab';
const TOKEN = 'token-drain-0123456789';

describe('a paused account is resumed and the worker is SIGKILLed while its held replies drain', () => {
  let t: TestApp;
  let worker: ReturnType<typeof startWorker> | undefined;
  const ops = () => ({ authorization: `Bearer ${OPS_KEY}` });
  const held = async () =>
    (
      await t.db.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM replies r JOIN inbound_events e ON e.id = r.event_id
          WHERE r.status = 'held' AND e.meta_message_id LIKE 'drain\\_%'`,
      )
    ).rows[0].n;

  beforeAll(async () => {
    // The API releases the held replies on resume; the worker, a separate process, sends them at 20 per second.
    t = await startTestApp({
      env: {
        WORKERS_ENABLED: 'false',
        OPS_API_KEYS: OPS_KEY,
        SEND_RATE_PER_SECOND: '20',
        SEND_BURST: '1',
        LOG_LEVEL: 'warn',
      },
    });
    t.graph.acceptToken(TOKEN, ACCOUNT_ID);
    // A slow Graph API keeps a few sends in flight, so the kill lands on some of them.
    t.graph.defaultAnswer = () => ({ status: 200, delayMs: 150 });
  });
  afterEach(async () => {
    await killAndWait(worker, 'SIGKILL');
    worker = undefined;
  });
  afterAll(async () => {
    await t?.close();
  });

  it('pause, 100 DMs, resume, SIGKILL mid-drain, restart: every reply sent once at most, none twice', async () => {
    const added = await request(t.url)
      .post('/admin/accounts')
      .set(ops())
      .send({ provider: 'instagram', accountId: ACCOUNT_ID, accessToken: TOKEN });
    expect(added.status).toBe(201);
    expect((await request(t.url).post(`/admin/accounts/instagram/${ACCOUNT_ID}/pause`).set(ops())).status).toBe(200);
    worker = startWorker();

    const all = mids('drain', 100);
    const burst = postBurst(t.url, all, 1);
    await burst.done;
    expect(burst.acknowledged()).toHaveLength(100);
    await waitFor(async () => (await held()) === 100, { timeoutMs: 60_000, message: '100 held replies' });
    expect(t.graph.requests).toHaveLength(0);

    expect((await request(t.url).post(`/admin/accounts/instagram/${ACCOUNT_ID}/resume`).set(ops())).status).toBe(200);
    await waitFor(() => t.graph.requests.length >= 30, { timeoutMs: 60_000, message: '30 replies before the kill' });
    await killAndWait(worker, 'SIGKILL');
    log(`worker SIGKILLed after ${t.graph.requests.length} of 100 held replies were sent`);
    worker = startWorker();

    // Jobs the dead worker held come back when their BullMQ lock expires (about 30 s).
    const result = await expectEverythingProcessedOnce(t, 'drain', burst.acknowledged(), 120_000);
    log(`after the restart: ${JSON.stringify(result.final)}`);
    expect(result.lost).toEqual([]);
    expect(result.final.processed).toBe(100);
    expect(result.tally.duplicates).toBe(0);
    // A reply whose request was in flight at the kill is `unknown` (never resent blindly); every other is sent.
    expect(result.final.repliesSent + result.final.repliesUnknown).toBe(100);
    expect(result.final.repliesUnknown).toBeLessThanOrEqual(5);
    expect(result.sentWithoutCall).toBe(0);
    expect(t.graph.requests.every((r) => r.authorization === `Bearer ${TOKEN}`)).toBe(true);
    expect(await held()).toBe(0);
    expect((await outcome(t, 'drain')).deadLettered).toBe(0);
  });
});
