import request from 'supertest';
import { Pool } from 'undici';
import { RejectionTally } from '../src/audit/rejection-tally';
import { instagramEnvelope, messagingItem, sign } from './support/meta-payloads';
import { startTestApp, TestApp } from './support/test-app';

/** Unsigned and wrongly signed POSTs are audited in aggregate: one row per provider, reason and minute. */
describe('rejected webhooks are audited in aggregate, across API processes', () => {
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    a = await startTestApp({ env: { WORKERS_ENABLED: 'false' } });
    b = await startTestApp({ db: a.db, env: { WORKERS_ENABLED: 'false' } });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  const flushBoth = () => Promise.all([a, b].map((app) => app.app.get(RejectionTally).flush()));
  // A minute is Postgres' own: the open minutes are moved into the past instead of waiting for them to end.
  const minutesPass = (minutes: number) =>
    a.db.pool.query(`UPDATE webhook_rejection_tallies SET minute = minute - make_interval(mins => $1)`, [minutes]);
  const openMinutes = async () =>
    (await a.db.pool.query(`SELECT count(*)::int AS n FROM webhook_rejection_tallies`)).rows[0].n as number;

  const rejectedRows = async () =>
    (
      await a.db.pool.query<{ provider: string; correlation_id: string | null; metadata: Record<string, unknown> }>(
        `SELECT provider, correlation_id, metadata FROM audit_log WHERE action = 'webhook.rejected' ORDER BY id`,
      )
    ).rows;

  const burst = async (app: TestApp, count: number) => {
    const http = new Pool(app.url, { connections: 25 });
    const body = instagramEnvelope([messagingItem({ mid: 'm_unsigned', sender: 'attacker', text: 'x' })]);
    try {
      const statuses = await Promise.all(
        Array.from({ length: count }, async (_, i) => {
          const headers: Record<string, string> = { 'content-type': 'application/json' };
          if (i % 2 === 1) headers['x-hub-signature-256'] = sign(body, 'not-the-secret');
          const response = await http.request({ method: 'POST', path: '/webhooks/instagram', headers, body });
          await response.body.dump();
          return response.statusCode;
        }),
      );
      return statuses;
    } finally {
      await http.close();
    }
  };

  const rejectedMetric = async (app: TestApp) => {
    const text = (await request(app.url).get('/metrics')).text;
    return [...text.matchAll(/^switchboard_webhooks_rejected_total\{[^}]*\} (\d+)/gm)].reduce(
      (sum, match) => sum + Number(match[1]),
      0,
    );
  };

  it('500 unsigned POSTs to two processes leave one row per reason, whose counts add up to 500', async () => {
    const statuses = [...(await Promise.all([burst(a, 250), burst(b, 250)]))].flat();
    expect(statuses.filter((status) => status === 401)).toHaveLength(500);
    // Nothing is written per request.
    expect(await rejectedRows()).toEqual([]);
    expect((await rejectedMetric(a)) + (await rejectedMetric(b))).toBe(500);

    await flushBoth();
    expect(await rejectedRows()).toEqual([]);
    // Both processes' counts of a reason share its minute's row (or two rows, if the burst crossed a minute).
    expect(await openMinutes()).toBeLessThanOrEqual(4);

    // The minutes are over (and their grace period): the processes flush together, each minute is written once.
    await minutesPass(3);
    await Promise.all([flushBoth(), flushBoth()]);
    await flushBoth();

    const rows = await rejectedRows();
    expect(rows.length).toBeGreaterThanOrEqual(2);
    expect(rows.length).toBeLessThanOrEqual(4);
    expect(new Set(rows.map((row) => `${String(row.metadata.minute)}/${String(row.metadata.reason)}`)).size).toBe(
      rows.length,
    );
    expect(rows.every((row) => row.provider === 'instagram' && row.correlation_id === null)).toBe(true);
    const total = (reason: string) =>
      rows.filter((row) => row.metadata.reason === reason).reduce((sum, row) => sum + Number(row.metadata.count), 0);
    expect(total('missing_signature')).toBe(250);
    expect(total('invalid_signature')).toBe(250);
    expect(await openMinutes()).toBe(0);
  });

  it("any process writes a minute's entry, also one that took none of its rejections; a later minute is a new entry", async () => {
    const before = (await rejectedRows()).length;
    expect(new Set(await burst(a, 10))).toEqual(new Set([401]));
    await a.app.get(RejectionTally).flush();
    await minutesPass(3);
    // b took none of these, and writes their entry.
    await b.app.get(RejectionTally).flush();
    expect(new Set(await burst(b, 4))).toEqual(new Set([401]));
    await flushBoth();
    await minutesPass(3);
    await flushBoth();

    const rows = (await rejectedRows()).slice(before);
    // Two minutes, two entries per reason pair: the later counts were not added to the closed minute.
    expect(rows.map((row) => row.metadata.count)).toEqual([5, 5, 2, 2]);
    expect(await openMinutes()).toBe(0);
  });
});
