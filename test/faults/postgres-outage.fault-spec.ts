import { createTestDatabase, TestDatabase } from '../support/test-database';
import { TcpProxy } from '../support/tcp-proxy';
import { startTestApp, TestApp } from '../support/test-app';
import { waitFor } from '../support/wait';
import { expectEverythingProcessedOnce, log, mids, postBurst } from './support';

// Postgres is cut for THIS app only, through a TCP proxy: the shared cluster keeps serving everyone else.
describe('Postgres unreachable during ingest', () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let t: TestApp | undefined;

  beforeAll(async () => {
    db = await createTestDatabase();
    proxy = new TcpProxy('127.0.0.1', Number(new URL(db.url).port || 5432));
    const port = await proxy.start();
    const viaProxy = new URL(db.url);
    viaProxy.port = String(port);
    t = await startTestApp({ db, env: { DATABASE_URL: viaProxy.toString(), LOG_LEVEL: 'warn' } });
  });
  afterAll(async () => {
    try {
      proxy?.restore();
      await t?.close();
    } finally {
      await proxy?.stop();
      await db?.drop();
    }
  });

  const storedMids = async (prefix: string) =>
    new Set(
      (
        await db.pool.query<{ mid: string }>(
          `SELECT meta_message_id AS mid FROM inbound_events WHERE kind = 'message' AND meta_message_id LIKE $1`,
          [`${prefix}\\_%`],
        )
      ).rows.map((row) => row.mid),
    );

  it('answers 503 while it is gone, never a 200 that is not durable, and recovers when it is back', async () => {
    const app = t!;
    const before = postBurst(app.url, mids('pgok', 300), 16);
    await before.done;
    expect(before.acknowledged()).toHaveLength(300);

    // Cut while requests are in flight.
    const during = postBurst(app.url, mids('pgcut', 600), 16);
    await waitFor(() => during.statuses.size >= 50, { timeoutMs: 30_000 });
    proxy.cut();
    await during.done;
    const statuses = [...during.statuses.values()];
    const count = (status: number) => statuses.filter((s) => s === status).length;
    log(`during the cut: ${count(200)} × 200, ${count(503)} × 503, ${statuses.length - count(200) - count(503)} other`);
    expect(count(503)).toBeGreaterThan(0);
    expect(statuses.every((status) => status === 200 || status === 503)).toBe(true);
    // Every 200 is in Postgres (read directly, not through the proxy).
    const stored = await storedMids('pgcut');
    expect(during.acknowledged().filter((mid) => !stored.has(mid))).toEqual([]);

    const ready = await fetch(`${app.url}/health/ready`);
    expect(ready.status).toBe(503);

    proxy.restore();
    // Meta redelivers what was refused; the store de-duplicates what had committed anyway.
    const refused = [...during.statuses].filter(([, status]) => status !== 200).map(([mid]) => mid);
    await waitFor(
      async () => {
        const probe = postBurst(app.url, refused.slice(0, 1), 1);
        await probe.done;
        return probe.acknowledged().length === 1;
      },
      { timeoutMs: 30_000, intervalMs: 250, message: 'ingest to recover' },
    );
    const retry = postBurst(app.url, refused, 16);
    await retry.done;
    expect(retry.acknowledged()).toHaveLength(refused.length);
    const after = postBurst(app.url, mids('pgafter', 300), 16);
    await after.done;
    expect(after.acknowledged()).toHaveLength(300);

    for (const [prefix, burst] of [
      ['pgok', before],
      ['pgafter', after],
    ] as const) {
      const result = await expectEverythingProcessedOnce(app, prefix, burst.acknowledged(), 60_000);
      expect(result.lost).toEqual([]);
      expect(result.final.processed).toBe(300);
      // A reply sent just before the cut whose outcome could not be recorded is `unknown`, never resent.
      expect(result.final.repliesSent + result.final.repliesUnknown).toBe(300);
      expect(result.tally.duplicates).toBe(0);
    }
    const result = await expectEverythingProcessedOnce(app, 'pgcut', mids('pgcut', 600), 60_000);
    expect(result.lost).toEqual([]);
    expect(result.final.processed).toBe(600);
    expect(result.tally.duplicates).toBe(0);
    expect(result.final.repliesSent + result.final.repliesUnknown).toBe(600);
  });
});
