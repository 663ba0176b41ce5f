import { fork } from 'node:child_process';
import { join } from 'node:path';
import { Client } from 'pg';
import { LoadResult, LoadSpec } from './lib/loadgen';
import { RetentionService } from '../src/ops/maintenance/retention.service';
import { startBenchApp, writeResult } from './outbound-support';

/**
 * `npm run bench:retention`: the daily retention job over a database the size of a busy year. Seeds
 * BENCH_RETENTION_ROWS (10 million) rows into each hot table with generate_series (receipts, events and
 * messages over BENCH_RETENTION_DAYS = 100 days, 100,000 a day at 10 million; audit entries over 366 days),
 * in the state the previous daily run left: everything past its period already cleared, so this run has one
 * day of each to clear, as every day in production. Then runs the job while an open-loop ingest load
 * (BENCH_RETENTION_RATE webhooks/s) goes on, and reports the job's time, the WAL it wrote, the lock waits
 * sampled in pg_stat_activity, and the ingest latency during the run against the same load without it.
 */
const ROWS = Number(process.env.BENCH_RETENTION_ROWS ?? 10_000_000);
const DAYS = Number(process.env.BENCH_RETENTION_DAYS ?? 100);
const RATE = Number(process.env.BENCH_RETENTION_RATE ?? 200);
const CHUNK = 1_000_000;
const DATABASE = 'switchboard_bench_retention';
const SECRET = 'bench-app-secret';
const started = Date.now();
const log = (message: string) => process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(1)}s] ${message}\n`);

/** uuid number i of a table (time-ordered, as uuidv7 ids are). */
const id = (prefix: string, expression: string) =>
  `('${prefix}-0000-7000-8000-' || lpad(to_hex(${expression}), 12, '0'))::uuid`;

async function seed(db: Client): Promise<Record<string, number>> {
  const timings: Record<string, number> = {};
  // Secondary indexes are built after the rows (much faster than row by row); keys and constraints stay.
  const { rows: indexes } = await db.query<{ name: string; definition: string }>(
    `SELECT i.indexname AS name, i.indexdef AS definition FROM pg_indexes i
      WHERE i.schemaname = 'public'
        AND i.tablename IN ('webhook_receipts', 'inbound_events', 'messages', 'audit_log')
        AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)`,
  );
  for (const index of indexes) await db.query(`DROP INDEX ${index.name}`);
  await db.query(`SET session_replication_role = replica`); // no FK checks or triggers while seeding
  const at = (i: string, days: number) => `now() - make_interval(secs => (${ROWS} - ${i}) * ${(days * 86400) / ROWS})`;
  const step = async (label: string, sql: (from: number, to: number) => string) => {
    const t0 = Date.now();
    for (let from = 1; from <= ROWS; from += CHUNK) {
      await db.query(sql(from, Math.min(ROWS, from + CHUNK - 1)));
      log(`  ${label}: ${Math.min(ROWS, from + CHUNK - 1).toLocaleString('en-US')} rows`);
    }
    timings[label] = Math.round((Date.now() - t0) / 100) / 10;
  };
  await db.query(
    `INSERT INTO conversations (id, provider, account_id, participant_id, first_message_at, last_message_at)
     SELECT ${id('00000000', 'c')}, 'instagram', '17841400000000000', 'patient-' || c, now() - interval '100 days', now()
       FROM generate_series(0, 99999) c`,
  );
  // A sealed body of a single DM is ~600 bytes; a message's sealed text ~120.
  await step(
    'webhook_receipts',
    (
      from,
      to,
    ) => `INSERT INTO webhook_receipts (id, provider, received_at, correlation_id, body_bytes, event_count, body)
      SELECT ${id('00000001', 'i')}, 'instagram', ${at('i', DAYS)}, 'corr-' || i, 570, 1,
             CASE WHEN ${at('i', DAYS)} > now() - interval '8 days' THEN decode(repeat(md5(i::text), 19), 'hex') END
        FROM generate_series(${from}, ${to}) i`,
  );
  await step(
    'inbound_events',
    (
      from,
      to,
    ) => `INSERT INTO inbound_events (id, receipt_id, provider, kind, channel, idempotency_key, account_id, sender_id,
                                recipient_id, meta_message_id, occurred_at, payload, payload_in_receipt, correlation_id,
                                status, attempts, received_at, started_at, processed_at)
      SELECT ${id('00000002', 'i')}, ${id('00000001', 'i')}, 'instagram', 'message', 'messaging', 'message:m_' || i,
             '17841400000000000', 'patient-' || (i % 100000), '17841400000000000', 'm_' || i, ${at('i', DAYS)},
             NULL, true, 'corr-' || i, 'processed', 1, ${at('i', DAYS)}, ${at('i', DAYS)},
             ${at('i', DAYS)} + interval '1 second'
        FROM generate_series(${from}, ${to}) i`,
  );
  await step(
    'messages',
    (from, to) => `INSERT INTO messages (id, conversation_id, event_id, provider, meta_message_id, direction, content,
                          attachment_count, sent_at, created_at)
      SELECT ${id('00000003', 'i')}, ${id('00000000', 'i % 100000')}, ${id('00000002', 'i')}, 'instagram', 'm_' || i,
             'inbound', CASE WHEN ${at('i', DAYS)} > now() - interval '91 days' THEN decode(repeat(md5(i::text), 7), 'hex') END, 0, ${at('i', DAYS)}, ${at('i', DAYS)}
        FROM generate_series(${from}, ${to}) i`,
  );
  await step(
    'audit_log',
    (from, to) => `INSERT INTO audit_log (occurred_at, action, outcome, provider, event_id, correlation_id, metadata)
      SELECT ${at('i', 366)}, CASE WHEN i % 2 = 0 THEN 'event.received' ELSE 'reply.sent' END, 'success', 'instagram',
             ${id('00000002', 'i / 2')}, 'corr-' || (i / 2),
             CASE WHEN i % 2 = 0 THEN '{"kind":"message","channel":"messaging"}'::jsonb
                  ELSE '{"httpStatus":200,"_processed":"message"}'::jsonb END
        FROM generate_series(${from}, ${to}) i`,
  );
  await db.query(`SET session_replication_role = DEFAULT`);
  const t0 = Date.now();
  for (const index of indexes) {
    await db.query(index.definition);
    log(`  index ${index.name} built`);
  }
  timings.indexes = Math.round((Date.now() - t0) / 100) / 10;
  for (const table of ['conversations', 'webhook_receipts', 'inbound_events', 'messages', 'audit_log']) {
    await db.query(`VACUUM ANALYZE ${table}`);
  }
  return timings;
}

function load(url: string, prefix: string, durationMs: number): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = fork(join(__dirname, 'lib', 'loadgen.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.on('message', (message: { result?: LoadResult; error?: string }) => {
      if (message.result) resolve(message.result);
      if (message.error) reject(new Error(message.error));
    });
    const spec: LoadSpec = { url, secret: SECRET, mode: 'open', rate: RATE, durationMs, prefix };
    child.send(spec);
  });
}

/** Samples pg_stat_activity every 50 ms: backends of the bench database waiting on a lock, and for how long. */
function sampleLockWaits(db: Client) {
  let stop = false;
  const waits: { pid: number; query: string; ms: number }[] = [];
  let samples = 0;
  const running = (async () => {
    while (!stop) {
      samples++;
      const { rows } = await db.query<{ pid: number; query: string; ms: number }>(
        `SELECT pid, left(query, 80) AS query, extract(epoch FROM now() - state_change) * 1000 AS ms
           FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'`,
        [DATABASE],
      );
      waits.push(...rows);
      await new Promise((done) => setTimeout(done, 50));
    }
  })();
  return async () => {
    stop = true;
    await running;
    return {
      samples,
      waitingSamples: waits.length,
      longestMs: Math.round(Math.max(0, ...waits.map((w) => w.ms))),
      waits: waits.slice(0, 20),
    };
  };
}

async function main(): Promise<void> {
  const bench = await startBenchApp(DATABASE, { WORKERS_ENABLED: 'false', META_APP_SECRETS: SECRET });
  try {
    const t0 = Date.now();
    log(`seeding ${ROWS.toLocaleString('en-US')} rows per hot table`);
    const seedSeconds = await seed(bench.db);
    const seededIn = Math.round((Date.now() - t0) / 1000);
    const { rows: sizes } = await bench.db.query<{ name: string; bytes: string }>(
      `SELECT relname AS name, pg_total_relation_size(relid)::bigint AS bytes FROM pg_stat_user_tables
        WHERE relname IN ('webhook_receipts', 'inbound_events', 'messages', 'audit_log') ORDER BY relname`,
    );
    const url = `${bench.url}/webhooks/instagram`;
    log(`ingest at ${RATE}/s without retention (10 s)`);
    const quiet = await load(url, 'rq', 10_000);
    const service = bench.app.get(RetentionService, { strict: false });
    const monitor = new Client({ connectionString: bench.config.databaseUrl });
    await monitor.connect();
    const lsn = async () =>
      (await monitor.query<{ lsn: string }>(`SELECT pg_current_wal_lsn()::text AS lsn`)).rows[0].lsn;
    const before = await lsn();
    const stopSampling = sampleLockWaits(monitor);
    log(`retention run with ingest at ${RATE}/s`);
    // The load runs in 5-second rounds until the job is done (the generator cannot be stopped half-way).
    let done = false;
    const rounds: LoadResult[] = [];
    const during = (async () => {
      for (let round = 0; !done; round++) rounds.push(await load(url, `rr${round}`, 5000));
    })();
    const runStarted = Date.now();
    const report = await service.run({ actor: 'bench', trigger: 'on_demand' }).finally(() => (done = true));
    const runMs = Date.now() - runStarted;
    await during;
    const locks = await stopSampling();
    const after = await lsn();
    const { rows: wal } = await monitor.query<{ bytes: string }>(`SELECT pg_wal_lsn_diff($1, $2)::bigint AS bytes`, [
      after,
      before,
    ]);
    await monitor.end();
    const result = {
      rows: ROWS,
      days: DAYS,
      rate: RATE,
      seededInSeconds: seededIn,
      seedSeconds,
      tableBytes: Object.fromEntries(sizes.map((row) => [row.name, Number(row.bytes)])),
      retention: { ms: runMs, counts: report.counts, walBytesClusterWide: Number(wal[0].bytes) },
      lockWaits: locks,
      ingestWithout: { p50: quiet.p50, p99: quiet.p99, max: quiet.max, ok: quiet.ok, sent: quiet.sent },
      ingestDuring: {
        rounds: rounds.length,
        p50Max: Math.max(...rounds.map((r) => r.p50 ?? 0)),
        p99Max: Math.max(...rounds.map((r) => r.p99 ?? 0)),
        max: Math.max(...rounds.map((r) => r.max ?? 0)),
        ok: rounds.reduce((sum, r) => sum + r.ok, 0),
        sent: rounds.reduce((sum, r) => sum + r.sent, 0),
      },
    };
    const file = writeResult('retention.json', result);
    process.stdout.write(`${JSON.stringify(result, null, 2)}\nwrote ${file}\n`);
  } finally {
    await bench.close();
  }
}

main().then(
  () => process.exit(0),
  (error: Error) => {
    process.stderr.write(`bench:retention failed: ${error.stack ?? error.message}\n`);
    process.exit(1);
  },
);
