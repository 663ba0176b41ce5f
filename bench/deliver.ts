import { ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import { Pool, request } from 'undici';
import { OPS_KEY, startBenchApp, table, writeResult } from './outbound-support';

/**
 * `npm run bench:deliver`: signed deliveries per second through the whole outbound path (trigger,
 * fan-out, dispatcher, queue, worker, rate/concurrency admission, Standard Webhooks signing, POST,
 * attempt and stats recorded in Postgres) to a local receiver, next to a bare undici Pool POST loop
 * to the same receiver in the same run.
 */
const ENDPOINTS = Number(process.env.BENCH_DELIVER_ENDPOINTS ?? 500);
const EVENTS = Number(process.env.BENCH_DELIVER_EVENTS ?? 10);
const CONCURRENCY = Number(process.env.BENCH_DELIVER_CONCURRENCY ?? 200);
const DATA = { orderId: 'o-12345', amount: 1250, currency: 'EUR', items: [{ sku: 'A-1', qty: 2 }] };

async function main(): Promise<void> {
  const receiver = fork(join(__dirname, 'outbound-receiver.js'), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve) =>
    receiver.once('message', (message: { port: number }) => resolve(message.port)),
  );
  const origin = `http://127.0.0.1:${port}`;
  const bench = await startBenchApp('switchboard_bench_deliver', {
    OUTBOUND_WORKER_CONCURRENCY: String(CONCURRENCY),
    OUTBOUND_ENDPOINT_CONCURRENCY: '50',
    OUTBOUND_RETRY_SCHEDULE: '0,1,1',
    // Keep the timing-out endpoint enabled for the whole run (the breaker would otherwise switch it off).
    OUTBOUND_BREAKER_THRESHOLD: '100000',
    DATABASE_POOL_SIZE: '20',
  });
  const total = ENDPOINTS * EVENTS;
  try {
    for (let i = 0; i < ENDPOINTS; i += 50) {
      await Promise.all(
        Array.from({ length: Math.min(50, ENDPOINTS - i) }, (_, j) =>
          api(bench.url, '/endpoints', { url: `${origin}/hooks/${i + j}`, events: ['bench.deliver', 'bench.warm'] }),
        ),
      );
    }
    const body = JSON.stringify({ type: 'bench.deliver', timestamp: new Date().toISOString(), data: DATA });
    await bareLoop(origin, body, 2000); // warm-up
    const bareBefore = await bareLoop(origin, body, total);

    // Warm the delivery path (JIT, connections, plans) so both measured rounds start from the same state.
    receiver.send({ type: 'reset' });
    for (let i = 0; i < 2; i++) await api(bench.url, '/events/bench.warm', { data: DATA });
    while ((await receivedCount(receiver)) < 2 * ENDPOINTS) await new Promise((resolve) => setTimeout(resolve, 10));
    receiver.send({ type: 'reset' });
    const started = performance.now();
    const cpuBefore = process.cpuUsage();
    for (let i = 0; i < EVENTS; i++) {
      const answer = (await api(bench.url, '/events/bench.deliver', { data: DATA })) as { endpointCount: number };
      if (answer.endpointCount !== ENDPOINTS) throw new Error(`fan-out reached ${answer.endpointCount} endpoints`);
    }
    // Cheap while waiting (the receiver counts), then Postgres confirms every delivery was recorded.
    while ((await receivedCount(receiver)) < total) await new Promise((resolve) => setTimeout(resolve, 10));
    for (;;) {
      const { rows } = await bench.db.query(
        `SELECT count(*) FILTER (WHERE status = 'succeeded')::int AS done, count(*) FILTER (WHERE status = 'failed')::int AS failed
           FROM outbound_deliveries d JOIN outbound_events e ON e.id = d.event_id WHERE e.event_type = 'bench.deliver'`,
      );
      if (rows[0].failed > 0) throw new Error(`${rows[0].failed} deliveries failed`);
      if (rows[0].done >= total) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const signedSeconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const cpuMsPerDelivery = (cpu.user + cpu.system) / 1000 / total;

    // Fairness: the same run again with one more subscriber that times out on every request.
    await api(bench.url, '/endpoints', { url: `${origin}/slow`, events: ['bench.deliver'], timeoutMs: 1000 });
    receiver.send({ type: 'reset' });
    const slowStarted = performance.now();
    for (let i = 0; i < EVENTS; i++) await api(bench.url, '/events/bench.deliver', { data: DATA });
    while ((await receivedCount(receiver)) < total) await new Promise((resolve) => setTimeout(resolve, 10));
    const withSlowEndpoint = total / ((performance.now() - slowStarted) / 1000);
    const bareAfter = await bareLoop(origin, body, total);

    const bare = (bareBefore + bareAfter) / 2;
    const signed = total / signedSeconds;
    const ratio = signed / bare;
    const result = {
      measuredAt: new Date().toISOString(),
      node: process.version,
      endpoints: ENDPOINTS,
      events: EVENTS,
      deliveries: total,
      concurrency: CONCURRENCY,
      bareUndiciPerSecond: Math.round(bare),
      bareRuns: [Math.round(bareBefore), Math.round(bareAfter)],
      signedDeliveriesPerSecond: Math.round(signed),
      /** CPU of this process (API, dispatcher and worker) per signed delivery, and cores used meanwhile. */
      cpuMsPerDelivery: Math.round(cpuMsPerDelivery * 1000) / 1000,
      coresUsed: Math.round(((cpu.user + cpu.system) / 1e6 / signedSeconds) * 100) / 100,
      ratio: Math.round(ratio * 100) / 100,
      /** Healthy deliveries per second while one more subscriber times out on every request. */
      healthyPerSecondWithOneTimingOutEndpoint: Math.round(withSlowEndpoint),
      healthyRateDrop: Math.round((1 - withSlowEndpoint / signed) * 100) / 100,
      target: {
        ratioAtLeast: 0.4,
        met: ratio >= 0.4,
        healthyRateDropBelow: 0.2,
        dropMet: withSlowEndpoint / signed > 0.8,
      },
    };
    process.stdout.write(
      `${table(
        ['path', 'requests', 'per second'],
        [
          ['bare undici Pool POST loop', total, result.bareUndiciPerSecond],
          ['signed deliveries (end to end)', total, result.signedDeliveriesPerSecond],
          ['ratio', '', result.ratio],
          ['healthy deliveries, one endpoint timing out', total, result.healthyPerSecondWithOneTimingOutEndpoint],
          ['healthy rate drop', '', result.healthyRateDrop],
          ['app CPU ms per delivery (cores used)', '', `${result.cpuMsPerDelivery} (${result.coresUsed})`],
        ],
      )}\nwritten: ${writeResult('deliver.json', result)}\n`,
    );
  } finally {
    await bench.close();
    receiver.disconnect();
  }
}

function receivedCount(receiver: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    receiver.once('message', (message: { count: number }) => resolve(message.count));
    receiver.send({ type: 'count' });
  });
}

/** The same POSTs with nothing around them: the ceiling for this receiver on this machine. */
async function bareLoop(origin: string, body: string, count: number): Promise<number> {
  const pool = new Pool(origin, { connections: CONCURRENCY });
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < count) {
        const n = next++;
        const response = await pool.request({
          method: 'POST',
          path: `/hooks/${n % ENDPOINTS}`,
          headers: { 'content-type': 'application/json', 'webhook-id': `msg_${n}` },
          body,
        });
        await response.body.dump();
        if (response.statusCode !== 200) throw new Error(`receiver answered ${response.statusCode}`);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await pool.close();
  return count / seconds;
}

async function api(url: string, path: string, body: unknown): Promise<unknown> {
  const response = await request(`${url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${OPS_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const answer = await response.body.json();
  if (response.statusCode >= 300) throw new Error(`${path} answered ${response.statusCode}`);
  return answer;
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench:deliver failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
