import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { busiestSecond } from '../support/busiest-second';
import { TEST_APP_SECRET, TEST_VERIFY_TOKEN } from '../support/test-app';
import { createTestDatabase, TestDatabase } from '../support/test-database';
import { waitFor } from '../support/wait';
import { FakeServersProcess } from './fake-servers';
import { ApiProcess, killAndWait, log, outcome, startApiProcess, startWorker } from './support';

export const ACCOUNTS = 20;
export const SENDERS_PER_ACCOUNT = 10;
export const MESSAGES = 10_000;
/** Per account: scaled so 500 replies each drain in about a minute on a small machine. */
export const SEND_RATE = 7;
export const SEND_BURST = 5;
export const ENDPOINT_RATE = 20;
/** The slow endpoint's cap: per worker process (see docs/outbound-webhooks.md). */
export const SLOW_ENDPOINT_CONCURRENCY = 2;
const OPS_KEY = 'sb_ops_many-processes-key-0123456789abcdef';
const PUBLISHER_KEY = 'sb_publisher_many-processes-key-0123456789ab';

export const accountId = (k: number) => `1784150000${String(k).padStart(7, '0')}`;
export const senderOf = (i: number) => `mp-a${i % ACCOUNTS}-s${Math.floor(i / ACCOUNTS) % SENDERS_PER_ACCOUNT}`;
/** The account a reply went out for, from its recipient (each sender writes to one account only). */
export const accountOfSender = (sender: string) => Number(/^mp-a(\d+)-/.exec(sender)?.[1] ?? -1);

/**
 * Posts DMs 0..count-1 alternately through the API processes, `concurrency` in flight, from a child process
 * (post-dms.child.js), as the fake servers run in one of their own (fake-servers.ts); resolves to the HTTP
 * status of each DM by index (0: no answer).
 */
export function postDms(
  apis: ApiProcess[],
  count: number,
  concurrency = 32,
): { statuses: Promise<number[]>; stop(): void } {
  const child = fork(join(__dirname, 'post-dms.child.js'), { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const dms = Array.from({ length: count }, (_, i) => ({
    accountId: accountId(i % ACCOUNTS),
    sender: senderOf(i),
    mid: `mp_${i}`,
  }));
  const statuses = new Promise<number[]>((resolve, reject) => {
    child.once('message', (message) => resolve((message as { statuses: number[] }).statuses));
    child.once('exit', (code) => reject(new Error(`the load generator exited (${code}) before it answered`)));
    child.send({ urls: apis.map((api) => api.url), concurrency, secret: TEST_APP_SECRET, dms });
  });
  statuses.catch(() => undefined); // awaited by the caller; a failure before then must not go unhandled
  return { statuses, stop: () => child.kill('SIGKILL') };
}

/** Events per second: the least-squares slope of their count over time. */
export function meanRate(times: number[]): number {
  const n = times.length;
  const meanT = times.reduce((a, b) => a + b, 0) / n;
  const meanI = (n - 1) / 2;
  let num = 0;
  let den = 0;
  times.forEach((time, i) => {
    num += (time - meanT) * (i - meanI);
    den += (time - meanT) ** 2;
  });
  return (num / den) * 1000;
}

export interface ManyProcessesResult {
  messages: number;
  durationMs: number;
  killedAfterReplies: number;
  final: Awaited<ReturnType<typeof outcome>>;
  acknowledged: number;
  graphCalls: number;
  /** Recipients (senders) that got more Send API calls than they wrote messages. */
  overReplied: string[];
  perAccount: { calls: number; rate: number; busiestSecond: number }[];
  endpoint: { received: number; busiestSecond: number; rate: number };
  slowEndpoint: { received: number; maxConcurrent: number };
  processes: number;
}

/**
 * 2 API processes (WORKERS_ENABLED=false, a port each) and 2 standalone workers over one Postgres and one
 * Redis; `messages` DMs (10,000) from 200 senders to 20 accounts through both ports; one worker SIGKILLed mid-run and
 * restarted. `redisEnv`: how the processes reach Redis (REDIS_URL, or REDIS_CLUSTER_NODES and a {hash-tag}
 * QUEUE_PREFIX). Stops everything it started.
 */
export async function runManyProcesses(
  redisEnv: Record<string, string>,
  messages = MESSAGES,
): Promise<ManyProcessesResult> {
  const started = Date.now();
  const logDir = mkdtempSync(join(tmpdir(), 'switchboard-many-'));
  let db: TestDatabase | undefined;
  let fakes: FakeServersProcess | undefined;
  const apis: ApiProcess[] = [];
  const workers: ReturnType<typeof startWorker>[] = [];
  let load: ReturnType<typeof postDms> | undefined;
  try {
    db = await createTestDatabase();
    fakes = await FakeServersProcess.start({ '/slow': 300 });
    const graphUrl = fakes.graphUrl;
    const env: Record<string, string> = {
      NODE_ENV: 'test',
      DATABASE_URL: db.url,
      DATABASE_POOL_SIZE: '10',
      QUEUE_PREFIX: `sbmany-${randomBytes(4).toString('hex')}`,
      META_APP_SECRETS: TEST_APP_SECRET,
      META_VERIFY_TOKEN: TEST_VERIFY_TOKEN,
      INSTAGRAM_GRAPH_URL: graphUrl,
      INSTAGRAM_ACCESS_TOKEN: 'test-access-token',
      INSTAGRAM_TIMEOUT_MS: '2000',
      DATA_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      USE_QUEUE: 'true',
      WORKER_CONCURRENCY: '100',
      MAX_ATTEMPTS: '3',
      RETRY_BASE_DELAY_MS: '50',
      RELAY_INTERVAL_MS: '200',
      RELAY_GRACE_MS: '300',
      SHUTDOWN_TIMEOUT_MS: '5000',
      SEND_RATE_PER_SECOND: String(SEND_RATE),
      SEND_BURST: String(SEND_BURST),
      OPS_API_KEYS: OPS_KEY,
      PUBLISHER_API_KEYS: PUBLISHER_KEY,
      OUTBOUND_ALLOW_PRIVATE_NETWORKS: 'true',
      LOG_LEVEL: 'warn',
      ...redisEnv,
    };
    for (let n = 0; n < 2; n++) {
      apis.push(await startApiProcess({ ...env, WORKERS_ENABLED: 'false', LOG_FILE: join(logDir, `api-${n}.log`) }));
    }
    const worker = (n: number) => startWorker({ ...env, LOG_FILE: join(logDir, `worker-${n}.log`) });
    workers.push(worker(0), worker(1));

    const ops = { authorization: `Bearer ${OPS_KEY}`, 'content-type': 'application/json' };
    const endpoint = await fetch(`${apis[0].url}/endpoints`, {
      method: 'POST',
      headers: ops,
      body: JSON.stringify({
        url: fakes.url('/crm'),
        events: ['instagram.message.received'],
        rateLimitPerSecond: ENDPOINT_RATE,
      }),
    });
    if (endpoint.status !== 201) throw new Error(`POST /endpoints: ${endpoint.status} ${await endpoint.text()}`);
    const slow = await fetch(`${apis[1].url}/endpoints`, {
      method: 'POST',
      headers: ops,
      body: JSON.stringify({
        url: fakes.url('/slow'),
        events: ['test.slow'],
        maxConcurrency: SLOW_ENDPOINT_CONCURRENCY,
      }),
    });
    if (slow.status !== 201) throw new Error(`POST /endpoints (slow): ${slow.status} ${await slow.text()}`);
    for (let n = 0; n < 40; n++) {
      const published = await fetch(`${apis[n % 2].url}/events/test.slow`, {
        method: 'POST',
        headers: { authorization: `Bearer ${PUBLISHER_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ data: { n } }),
      });
      if (published.status !== 202) throw new Error(`POST /events: ${published.status}`);
    }

    load = postDms(apis, messages);
    const killAt = Math.round(messages * 0.3);
    await waitFor(async () => (await fakes!.graphCalls()) >= killAt, {
      timeoutMs: 90_000,
      message: `${killAt} replies`,
    });
    await killAndWait(workers[0], 'SIGKILL');
    const killedAfterReplies = await fakes.graphCalls();
    log(`worker 0 SIGKILLed after ${killedAfterReplies} replies (${Date.now() - started} ms in)`);
    workers[0] = worker(2);
    const statuses = await load.statuses;
    const ingestDoneAt = Date.now();
    const acknowledged = statuses.filter((status) => status === 200).length;
    log(`ingest done: ${acknowledged} acknowledged (${Date.now() - started} ms in)`);

    // Jobs the killed worker held come back when their BullMQ lock expires (about 30 s).
    const final = await waitFor(
      async () => {
        const now = await outcome({ db: db! }, 'mp');
        return now.unfinished === 0 && now.events >= acknowledged ? now : undefined;
      },
      { timeoutMs: 150_000, intervalMs: 500, message: 'every DM processed' },
    );
    const collected = await fakes.collect();
    const calls = new Map<string, number[]>();
    for (const { recipient, at } of collected.graph) calls.set(recipient, [...(calls.get(recipient) ?? []), at]);
    const outbound = await db.pool.query(
      `SELECT status, count(*)::int AS n FROM outbound_deliveries GROUP BY status ORDER BY status`,
    );
    log(`outbound deliveries: ${JSON.stringify(outbound.rows)}`);
    const perSender = Math.ceil(messages / (ACCOUNTS * SENDERS_PER_ACCOUNT));
    const overReplied = [...calls].filter(([, times]) => times.length > perSender).map(([sender]) => sender);
    const perAccount = Array.from({ length: ACCOUNTS }, (_, k) => {
      const times = [...calls]
        .filter(([sender]) => accountOfSender(sender) === k)
        .flatMap(([, at]) => at)
        .sort((a, b) => a - b);
      // The drain at the limit, once ingest stopped competing for the CPU, without the tail of jobs the
      // killed worker held (they come back when their locks expire).
      const drain = times.filter((time) => time >= ingestDoneAt + 2000);
      const steady = drain.slice(0, Math.ceil(drain.length * 0.85));
      return { calls: times.length, rate: meanRate(steady), busiestSecond: busiestSecond(times) };
    });
    const crm = collected.received['/crm'] ?? [];
    const result: ManyProcessesResult = {
      messages,
      durationMs: Date.now() - started,
      killedAfterReplies,
      final,
      acknowledged,
      graphCalls: collected.graph.length,
      overReplied,
      perAccount,
      endpoint: {
        received: crm.length,
        busiestSecond: busiestSecond(crm),
        // Its backlog (every DM is an event for it) drains at its limit once ingest stopped.
        rate: meanRate(crm.filter((time) => time >= ingestDoneAt + 2000)),
      },
      slowEndpoint: {
        received: collected.received['/slow']?.length ?? 0,
        maxConcurrent: collected.maxConcurrent['/slow'] ?? 0,
      },
      processes: apis.length + workers.length,
    };
    log(
      `done in ${result.durationMs} ms: ${JSON.stringify({ ...result, perAccount: undefined })}; per account ` +
        result.perAccount.map((a) => `${a.calls}@${a.rate.toFixed(2)}/s max ${a.busiestSecond}`).join(', '),
    );
    return result;
  } finally {
    load?.stop();
    for (const child of [...workers, ...apis]) await killAndWait(child, 'SIGKILL');
    await fakes?.stop();
    await db?.drop();
    rmSync(logDir, { recursive: true, force: true });
  }
}

/** What the run must show: every DM answered once, the account pacing and the endpoint's limit held. */
export function expectEveryLimitHeld(result: ManyProcessesResult): void {
  const { messages } = result;
  expect(result.acknowledged).toBe(messages);
  expect(result.final.events).toBe(messages);
  expect(result.final.processed).toBe(messages);
  expect(result.final.deadLettered).toBe(0);
  // A reply whose request was in flight at the kill is `unknown` (never resent blindly); every other is sent.
  // (At most the kill's in-flight sends, and Send API timeouts on a saturated machine.)
  expect(result.final.repliesSent + result.final.repliesUnknown).toBe(messages);
  expect(result.final.repliesUnknown).toBeLessThanOrEqual(messages * 0.02);
  expect(result.overReplied).toEqual([]);
  expect(result.graphCalls).toBeLessThanOrEqual(messages);
  expect(result.graphCalls).toBeGreaterThanOrEqual(result.final.repliesSent);
  expect(result.perAccount).toHaveLength(ACCOUNTS);
  for (const account of result.perAccount) {
    expect(account.busiestSecond).toBeLessThanOrEqual(SEND_RATE + SEND_BURST);
    expect(Math.abs(account.rate - SEND_RATE) / SEND_RATE).toBeLessThan(0.05);
  }
  expect(result.endpoint.received).toBeGreaterThanOrEqual(ENDPOINT_RATE);
  expect(result.endpoint.busiestSecond).toBeLessThanOrEqual(ENDPOINT_RATE + 1);
  expect(Math.abs(result.endpoint.rate - ENDPOINT_RATE) / ENDPOINT_RATE).toBeLessThan(0.05);
  // The endpoint concurrency cap is per worker process: two workers may hold twice the cap.
  expect(result.slowEndpoint.maxConcurrent).toBeLessThanOrEqual(2 * SLOW_ENDPOINT_CONCURRENCY);
}
