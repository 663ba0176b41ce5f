import { request } from 'undici';
import { mb, median, OPS_KEY, startBenchApp, table, writeResult } from './outbound-support';

/**
 * `npm run bench:fanout`: how long POST /events/:type takes to answer with 1,000 / 10,000 / 100,000
 * subscribed endpoints, and how much this process's memory grows while the event is fanned out and
 * every delivery is streamed onto the queue. Workers are off: this measures triggering, not sending.
 */
const SIZES = [1_000, 10_000, 100_000];
const TRIGGERS_PER_SIZE = Number(process.env.BENCH_FANOUT_TRIGGERS ?? 5);

interface Row {
  endpoints: number;
  triggers: number;
  latencyMedianMs: number;
  latencyMaxMs: number;
  dispatchMs: number;
  rssGrowthMb: number;
  heapGrowthMb: number;
  /** Heap still in use after a full GC once everything is queued: what the fan-out left behind. */
  heapRetainedMb: number;
  /** Largest heap alive (after forced collections) while the last trigger was being fanned out. */
  heapLiveDuringMb: number;
}

async function main(): Promise<void> {
  const bench = await startBenchApp('switchboard_bench_fanout', {
    WORKERS_ENABLED: 'false',
    RELAY_INTERVAL_MS: '1000',
  });
  const gc = (globalThis as { gc?: () => void }).gc;
  const rows: Row[] = [];
  try {
    let seeded = 0;
    for (const size of SIZES) {
      await bench.db.query(
        `INSERT INTO outbound_endpoints (id, url, event_types, secret_sealed)
         SELECT gen_random_uuid(), 'http://127.0.0.1:9/hook/' || g, ARRAY['bench.*'], '\\x00'::bytea
           FROM generate_series($1::int + 1, $2::int) g`,
        [seeded, size],
      );
      seeded = size;
      await bench.db.query('VACUUM ANALYZE outbound_endpoints');
      if (size === SIZES[0]) {
        // Warm-up once (JIT, connections, query plans); each size then starts from the process at rest.
        for (let i = 0; i < 3; i++) await trigger(bench.url);
        await waitDispatched(bench.db);
      }

      const triggers = size >= 100_000 ? Math.max(2, Math.floor(TRIGGERS_PER_SIZE / 2)) : TRIGGERS_PER_SIZE;
      const latencies: number[] = [];
      let dispatchMs = 0;
      let peakRss = 0;
      let peakHeap = 0;
      gc?.();
      await new Promise((resolve) => setTimeout(resolve, 500));
      const baseline = process.memoryUsage();
      const sampler = setInterval(() => {
        const usage = process.memoryUsage();
        peakRss = Math.max(peakRss, usage.rss);
        peakHeap = Math.max(peakHeap, usage.heapUsed);
      }, 10);
      let liveHeap = 0;
      for (let i = 0; i < triggers; i++) {
        // The last trigger is also watched with forced collections: the heap that is really alive mid-fan-out.
        const watchLive = i === triggers - 1 && gc !== undefined && triggers > 1;
        const started = performance.now();
        const answer = await trigger(bench.url);
        latencies.push(performance.now() - started);
        if (answer.endpointCount !== size) throw new Error(`expected ${size} endpoints, got ${answer.endpointCount}`);
        const dispatchStarted = performance.now();
        const collector = watchLive
          ? setInterval(() => {
              gc?.();
              liveHeap = Math.max(liveHeap, process.memoryUsage().heapUsed - baseline.heapUsed);
            }, 250)
          : undefined;
        await waitDispatched(bench.db);
        clearInterval(collector);
        if (!watchLive) dispatchMs = Math.max(dispatchMs, performance.now() - dispatchStarted);
      }
      clearInterval(sampler);
      gc?.();
      const retained = process.memoryUsage().heapUsed - baseline.heapUsed;
      rows.push({
        endpoints: size,
        triggers,
        latencyMedianMs: round(median(latencies)),
        latencyMaxMs: round(Math.max(...latencies)),
        dispatchMs: Math.round(dispatchMs),
        rssGrowthMb: mb(Math.max(0, peakRss - baseline.rss)),
        heapGrowthMb: mb(Math.max(0, peakHeap - baseline.heapUsed)),
        heapRetainedMb: mb(retained),
        heapLiveDuringMb: mb(liveHeap),
      });
      await bench.db.query(`TRUNCATE outbound_deliveries`);
    }
  } finally {
    await bench.close();
  }

  const ten = rows.find((row) => row.endpoints === 10_000);
  const hundred = rows.find((row) => row.endpoints === 100_000);
  const result = {
    measuredAt: new Date().toISOString(),
    node: process.version,
    rows,
    targets: {
      tenThousandTriggerUnder100ms: ten ? ten.latencyMedianMs < 100 : null,
      hundredThousandMemoryGrowthUnder100Mb: hundred ? hundred.rssGrowthMb < 100 : null,
    },
  };
  process.stdout.write(
    `${table(
      [
        'endpoints',
        'triggers',
        'answer p50 ms',
        'answer max ms',
        'queued all in ms',
        'RSS growth MB',
        'heap peak growth MB',
        'heap retained MB',
        'heap live during MB',
      ],
      rows.map((r) => [
        r.endpoints,
        r.triggers,
        r.latencyMedianMs,
        r.latencyMaxMs,
        r.dispatchMs,
        r.rssGrowthMb,
        r.heapGrowthMb,
        r.heapRetainedMb,
        r.heapLiveDuringMb,
      ]),
    )}\n`,
  );
  process.stdout.write(`targets: ${JSON.stringify(result.targets)}\nwritten: ${writeResult('fanout.json', result)}\n`);
}

async function trigger(url: string): Promise<{ eventId: string; endpointCount: number }> {
  const response = await request(`${url}/events/bench.fanout`, {
    method: 'POST',
    headers: { authorization: `Bearer ${OPS_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ data: { orderId: 'o-1', amount: 1250 } }),
  });
  if (response.statusCode !== 202) throw new Error(`trigger answered ${response.statusCode}`);
  return (await response.body.json()) as { eventId: string; endpointCount: number };
}

async function waitDispatched(db: import('pg').Client): Promise<void> {
  for (;;) {
    const { rows } = await db.query(`SELECT count(*)::int AS n FROM outbound_events WHERE dispatched_at IS NULL`);
    if (rows[0].n === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const round = (value: number) => Math.round(value * 10) / 10;

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench:fanout failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
