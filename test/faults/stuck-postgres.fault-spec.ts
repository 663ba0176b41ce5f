import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { FakeGraphApi } from '../support/fake-graph-api';
import { instagramEnvelope, messagingItem, sign } from '../support/meta-payloads';
import { TcpProxy } from '../support/tcp-proxy';
import { deleteKeys, TEST_APP_SECRET, TEST_REDIS_URL, TEST_VERIFY_TOKEN } from '../support/test-app';
import { createTestDatabase, TestDatabase } from '../support/test-database';
import { waitFor } from '../support/wait';
import {
  ApiProcess,
  expectEverythingProcessedOnce,
  graphTally,
  killAndWait,
  log,
  mids,
  postBurst,
  startApiProcess,
} from './support';

const STATEMENT_TIMEOUT_MS = 2000;
/** The default INGEST_MAX_PENDING_BYTES: the test runs the shipped bound. */
const MAX_PENDING_BYTES = 64 * 1024 * 1024;
const LARGE_TEXT = 'x'.repeat(800 * 1024);
/** Senders of large webhooks at once. */
const SENDERS = 20;

/**
 * Postgres that accepts connections but never answers (a proxy that forwards nothing, both ways, and
 * closes nothing): webhooks are answered 503 within the statement timeout plus a margin, abandoned large
 * webhooks do not pile up in memory, and once Postgres answers again every 200 is processed exactly once.
 * The app is a child process, so its memory is its own.
 */
describe('Postgres that stops answering', () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let graph: FakeGraphApi;
  let api: ApiProcess | undefined;
  let logDir: string;
  const prefix = `sbfault-${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    db = await createTestDatabase();
    proxy = new TcpProxy('127.0.0.1', Number(new URL(db.url).port || 5432));
    const viaProxy = new URL(db.url);
    viaProxy.port = String(await proxy.start());
    graph = new FakeGraphApi();
    logDir = mkdtempSync(join(tmpdir(), 'switchboard-fault-'));
    api = await startApiProcess({
      NODE_ENV: 'test',
      DATABASE_URL: viaProxy.toString(),
      DATABASE_POOL_SIZE: '10',
      DATABASE_STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS),
      REDIS_URL: TEST_REDIS_URL,
      QUEUE_PREFIX: prefix,
      META_APP_SECRETS: TEST_APP_SECRET,
      META_VERIFY_TOKEN: TEST_VERIFY_TOKEN,
      INSTAGRAM_GRAPH_URL: await graph.start(),
      INSTAGRAM_ACCESS_TOKEN: 'test-access-token',
      INSTAGRAM_TIMEOUT_MS: '2000',
      DATA_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      WORKERS_ENABLED: 'true',
      WORKER_CONCURRENCY: '20',
      RETRY_BASE_DELAY_MS: '50',
      RELAY_INTERVAL_MS: '200',
      RELAY_GRACE_MS: '300',
      SHUTDOWN_TIMEOUT_MS: '5000',
      LOG_LEVEL: 'warn',
      LOG_FILE: join(logDir, 'app.log'),
    });
  });
  afterAll(async () => {
    try {
      proxy?.thaw();
      if (api) {
        api.child.kill('SIGTERM');
        await Promise.race([api.exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
        await killAndWait(api);
      }
    } finally {
      await graph?.stop();
      await proxy?.stop();
      const redis = new Redis(TEST_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
      await deleteKeys(redis, prefix);
      redis.disconnect();
      await db?.drop();
      rmSync(logDir, { recursive: true, force: true });
    }
  });

  const signed = (mid: string, text: string) => {
    const body = instagramEnvelope([messagingItem({ mid, sender: `u-${mid}`, text })]);
    return {
      body,
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': sign(body, TEST_APP_SECRET) },
    };
  };

  it('answers 503 in time, keeps memory bounded while stuck, then processes every 200 exactly once', async () => {
    const app = api!;
    const t = { db, graph };
    const http = new Pool(app.url, { connections: SENDERS });
    /** Large webhooks, SENDERS at a time; a sender that gives up (or cannot connect) is status 0. */
    const postLarge = async (list: string[], giveUpAfterMs?: number) => {
      const answers = new Map<string, number>();
      let next = 0;
      await Promise.all(
        Array.from({ length: SENDERS }, async () => {
          while (next < list.length) {
            const mid = list[next++];
            const { body, headers } = signed(mid, LARGE_TEXT);
            try {
              const response = await http.request({
                method: 'POST',
                path: '/webhooks/instagram',
                headers,
                body,
                signal: giveUpAfterMs ? AbortSignal.timeout(giveUpAfterMs) : undefined,
              });
              await response.body.dump();
              answers.set(mid, response.statusCode);
            } catch {
              answers.set(mid, 0);
            }
          }
        }),
      );
      return answers;
    };
    try {
      const before = postBurst(app.url, mids('stuckok', 100), 16);
      await before.done;
      expect(before.acknowledged()).toHaveLength(100);
      // The same large webhooks while all is well: the baseline is the memory serving them takes anyway.
      const healthy = sampleRss(app);
      // (This many at once can reach the pending bound on a slow machine: a 503 then, never anything else.)
      const warm = await postLarge(mids('stuckwarm', 100));
      const healthyPeak = healthy.stop();
      const warmAcknowledged = [...warm].filter(([, status]) => status === 200).map(([mid]) => mid);
      expect([...warm.values()].every((status) => status === 200 || status === 503)).toBe(true);
      expect(warmAcknowledged.length).toBeGreaterThan(50);
      await expectEverythingProcessedOnce(t, 'stuckok', before.acknowledged(), 30_000);

      // Frozen while webhooks are in flight: those answered 200 are durable and must be processed.
      const edge = postBurst(app.url, mids('stuckedge', 80), 32);
      await waitFor(() => edge.statuses.size >= 40, { timeoutMs: 20_000 });
      proxy.freeze();
      const frozenAt = Date.now();
      await edge.done;
      log(`frozen after ${edge.acknowledged().length} of 80 edge webhooks were acknowledged`);

      // Nothing hangs: each webhook gets its 503 within the statement timeout plus a margin.
      const probes = await Promise.all(
        mids('stuckprobe', 10).map(async (mid) => {
          const { body, headers } = signed(mid, 'are you there?');
          const startedAt = Date.now();
          const response = await http.request({
            method: 'POST',
            path: '/webhooks/instagram',
            headers,
            body,
            headersTimeout: 30_000,
          });
          await response.body.dump();
          return { status: response.statusCode, ms: Date.now() - startedAt };
        }),
      );
      log(`probes while frozen: ${probes.map((probe) => `${probe.status}/${probe.ms}ms`).join(' ')}`);
      expect(probes.every((probe) => probe.status === 503)).toBe(true);
      expect(Math.max(...probes.map((probe) => probe.ms))).toBeLessThan(STATEMENT_TIMEOUT_MS + 2000);

      // 200 large webhooks whose senders give up: they neither pile up nor hang.
      const baseline = Math.max(healthyPeak, app.rss());
      const stuck = sampleRss(app);
      // Their senders give up after a second, as a client in front of a stuck server would.
      const answers = await postLarge(mids('stuckbig', 200), 1000);
      const peak = stuck.stop();
      const statuses = [...answers.values()];
      log(
        `abandoned: ${statuses.filter((s) => s === 0).length} gave up, ${statuses.filter((s) => s === 503).length} × 503; ` +
          `RSS peak ${Math.round(baseline / 2 ** 20)} MB while healthy → ${Math.round(peak / 2 ** 20)} MB while stuck`,
      );
      expect(statuses.every((status) => status === 0 || status === 503)).toBe(true);
      expect(peak - baseline).toBeLessThan(MAX_PENDING_BYTES + 50 * 1024 * 1024);
      // Still frozen: the operator sees why webhooks are refused, by cause and never by content.
      expect(Date.now() - frozenAt).toBeGreaterThan(STATEMENT_TIMEOUT_MS);
      const logged = readFileSync(join(logDir, 'app.log'), 'utf8');
      expect(logged).toMatch(/could not store webhook; answering 503.*"cause":"timeout"/);
      expect(logged).not.toContain('xxxxxxxx');

      proxy.thaw();
      await waitFor(
        async () => {
          const probe = postBurst(app.url, ['stuckback_probe'], 1);
          await probe.done;
          return probe.acknowledged().length === 1;
        },
        { timeoutMs: 30_000, intervalMs: 250, message: 'ingest to recover' },
      );
      const after = postBurst(app.url, mids('stuckafter', 100), 16);
      await after.done;
      expect(after.acknowledged()).toHaveLength(100);

      const answered: [string, string[]][] = [
        ['stuckwarm', warmAcknowledged],
        ['stuckedge', edge.acknowledged()],
        ['stuckafter', after.acknowledged()],
      ];
      for (const [prefix, acknowledged] of answered) {
        const result = await expectEverythingProcessedOnce(t, prefix, acknowledged, 60_000);
        expect(result.lost).toEqual([]);
        expect(result.final.processed).toBeGreaterThanOrEqual(acknowledged.length);
        expect(result.final.unfinished).toBe(0);
        // A reply whose outcome could not be recorded when Postgres froze is `unknown`, never sent again.
        expect(result.final.repliesSent + result.final.repliesUnknown).toBe(result.final.events);
        expect(result.sentWithoutCall).toBe(0);
      }
      // Exactly once at the Send API, for everything this test sent.
      expect(graphTally(t).duplicates).toBe(0);
    } finally {
      await http.close();
    }
  });
});

/** The highest RSS of the process from now until stop(), sampled every 50 ms. */
function sampleRss(app: ApiProcess): { stop(): number } {
  let peak = app.rss();
  const timer = setInterval(() => (peak = Math.max(peak, app.rss())), 50);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, app.rss());
    },
  };
}
