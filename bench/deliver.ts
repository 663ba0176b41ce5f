import { ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import { request } from 'undici';
import { CpuWindow } from './lib/cpu';
import { BenchApp, OPS_KEY, startBenchApp, table, writeResult } from './outbound-support';

/**
 * `npm run bench:deliver`: signed deliveries per second through the whole outbound path (trigger,
 * fan-out, dispatcher, queue, worker, rate/concurrency admission, Standard Webhooks signing, POST,
 * attempt and stats recorded in Postgres) to a local receiver, next to a bare undici Pool POST loop
 * to the same receiver in the same run: ROUNDS of each, alternately, reported as medians.
 */
const ENDPOINTS = Number(process.env.BENCH_DELIVER_ENDPOINTS ?? 500);
const EVENTS = Number(process.env.BENCH_DELIVER_EVENTS ?? 20);
const CONCURRENCY = Number(process.env.BENCH_DELIVER_CONCURRENCY ?? 200);
/** Bare loop and signed deliveries, alternately, this many times each. */
const ROUNDS = Number(process.env.BENCH_DELIVER_ROUNDS ?? 5);
const DATA = { orderId: 'o-12345', amount: 1250, currency: 'EUR', items: [{ sku: 'A-1', qty: 2 }] };
const DATABASE = 'switchboard_bench_deliver';

/** Where a round's CPU went, per request: the receiver's, Postgres's (signed rounds) and the whole machine's. */
interface MachineShare {
  receiverMs: number;
  postgresMs: number;
  machineMs: number;
}

async function main(): Promise<void> {
  const receiver = fork(join(__dirname, 'outbound-receiver.js'), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve) =>
    receiver.once('message', (message: { port: number }) => resolve(message.port)),
  );
  const origin = `http://127.0.0.1:${port}`;
  const loop = fork(join(__dirname, 'bare-loop.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const bench = await startBenchApp(DATABASE, {
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
    // Warm-up: the receiver (its JIT) as much as one round, or the first round's bare loop runs slow.
    await bareLoop(loop, origin, body, total);

    // Warm the delivery path (JIT, connections, plans) so every measured round starts from the same state.
    receiver.send({ type: 'reset' });
    for (let i = 0; i < 2; i++) await api(bench.url, '/events/bench.warm', { data: DATA });
    await untilReceived(receiver, 2 * ENDPOINTS);

    // Rounds alternate bare loop and signed deliveries, so a change in what else the machine is doing
    // shows in both; the figures are the medians of the rounds (each round's own ratio is kept too).
    const rounds: {
      bare: number;
      bareCpuMsPerRequest: number;
      bareMachine: MachineShare;
      signed: number;
      cpuMsPerDelivery: number;
      coresUsed: number;
      machine: MachineShare;
    }[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const bareWindow = new CpuWindow([receiver.pid]);
      const { perSecond: bare, cpuMsPerRequest: bareCpuMsPerRequest } = await bareLoop(loop, origin, body, total);
      const bareMachine = machineShare(bareWindow, total);
      rounds.push({ bare, bareCpuMsPerRequest, bareMachine, ...(await signedRound(bench, receiver, round, total)) });
    }
    const bare = median(rounds.map((round) => round.bare));
    const signed = median(rounds.map((round) => round.signed));
    const ratio = median(rounds.map((round) => round.signed / round.bare));
    const cpuMsPerDelivery = median(rounds.map((round) => round.cpuMsPerDelivery));
    const bareCpuMsPerRequest = median(rounds.map((round) => round.bareCpuMsPerRequest));
    // The same comparison in CPU instead of time: steadier on a machine whose speed varies from run to run.
    const cpuRatio = median(rounds.map((round) => round.bareCpuMsPerRequest / round.cpuMsPerDelivery));
    const coresUsed = median(rounds.map((round) => round.coresUsed));
    const share = (pick: (round: (typeof rounds)[number]) => MachineShare): MachineShare => ({
      receiverMs: median(rounds.map((round) => pick(round).receiverMs)),
      postgresMs: median(rounds.map((round) => pick(round).postgresMs)),
      machineMs: median(rounds.map((round) => pick(round).machineMs)),
    });
    const machine = share((round) => round.machine);
    const bareMachine = share((round) => round.bareMachine);

    // Fairness: the same run again with one more subscriber that times out on every request.
    await api(bench.url, '/endpoints', { url: `${origin}/slow`, events: ['bench.deliver'], timeoutMs: 1000 });
    receiver.send({ type: 'reset' });
    const slowStarted = performance.now();
    for (let i = 0; i < EVENTS; i++) await api(bench.url, '/events/bench.deliver', { data: DATA });
    await untilReceived(receiver, total);
    const withSlowEndpoint = total / ((performance.now() - slowStarted) / 1000);

    const result = {
      measuredAt: new Date().toISOString(),
      node: process.version,
      endpoints: ENDPOINTS,
      events: EVENTS,
      deliveries: total,
      concurrency: CONCURRENCY,
      rounds: rounds.map((round) => ({
        bareUndiciPerSecond: Math.round(round.bare),
        signedDeliveriesPerSecond: Math.round(round.signed),
        ratio: Math.round((round.signed / round.bare) * 100) / 100,
        cpuMsPerDelivery: round.cpuMsPerDelivery,
        bareCpuMsPerRequest: round.bareCpuMsPerRequest,
        machine: round.machine,
        bareMachine: round.bareMachine,
      })),
      bareUndiciPerSecond: Math.round(bare),
      signedDeliveriesPerSecond: Math.round(signed),
      /** CPU of this process (API, dispatcher and worker) per signed delivery, and cores used meanwhile. */
      cpuMsPerDelivery,
      coresUsed,
      /** This process's CPU per request of the bare loop, and its ratio to the CPU per signed delivery. */
      bareCpuMsPerRequest,
      cpuRatio: Math.round(cpuRatio * 100) / 100,
      /**
       * Medians of the rounds, CPU ms per request: what the receiver, this database's Postgres backends and
       * the whole machine (every core, every process) used in the signed rounds and in the bare loop's.
       */
      machine,
      bareMachine,
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
          ['bare undici Pool POST loop (median)', total, result.bareUndiciPerSecond],
          ['signed deliveries, end to end (median)', total, result.signedDeliveriesPerSecond],
          ['ratio (median of the rounds)', '', result.ratio],
          ['ratio of each round', '', result.rounds.map((round) => round.ratio).join(' / ')],
          ['healthy deliveries, one endpoint timing out', total, result.healthyPerSecondWithOneTimingOutEndpoint],
          ['healthy rate drop', '', result.healthyRateDrop],
          ['app CPU ms per delivery (cores used)', '', `${result.cpuMsPerDelivery} (${result.coresUsed})`],
          ['bare loop CPU ms per request; CPU ratio', '', `${result.bareCpuMsPerRequest}; ${result.cpuRatio}`],
          [
            'CPU ms per delivery: Postgres; receiver; machine',
            '',
            `${machine.postgresMs}; ${machine.receiverMs}; ${machine.machineMs}`,
          ],
          ['CPU ms per bare request: receiver; machine', '', `${bareMachine.receiverMs}; ${bareMachine.machineMs}`],
        ],
      )}\nwritten: ${writeResult('deliver.json', result)}\n`,
    );
  } finally {
    await bench.close();
    receiver.disconnect();
    loop.disconnect();
  }
}

/** One round: EVENTS triggers fanned out to every endpoint, timed until Postgres has recorded every delivery. */
async function signedRound(
  bench: BenchApp,
  receiver: ChildProcess,
  round: number,
  total: number,
): Promise<{ signed: number; cpuMsPerDelivery: number; coresUsed: number; machine: MachineShare }> {
  receiver.send({ type: 'reset' });
  const window = new CpuWindow([receiver.pid], DATABASE);
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  for (let i = 0; i < EVENTS; i++) {
    const answer = (await api(bench.url, '/events/bench.deliver', { data: DATA })) as { endpointCount: number };
    if (answer.endpointCount !== ENDPOINTS) throw new Error(`fan-out reached ${answer.endpointCount} endpoints`);
  }
  // Cheap while waiting (the receiver counts), then Postgres confirms every delivery was recorded.
  await untilReceived(receiver, total);
  for (;;) {
    const { rows } = await bench.db.query(
      `SELECT count(*) FILTER (WHERE status = 'succeeded')::int AS done, count(*) FILTER (WHERE status = 'failed')::int AS failed
         FROM outbound_deliveries d JOIN outbound_events e ON e.id = d.event_id WHERE e.event_type = 'bench.deliver'`,
    );
    if (rows[0].failed > 0) throw new Error(`${rows[0].failed} deliveries failed`);
    if (rows[0].done >= total * (round + 1)) break;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  return {
    signed: total / seconds,
    cpuMsPerDelivery: roundCpu((cpu.user + cpu.system) / 1000 / total),
    coresUsed: Math.round(((cpu.user + cpu.system) / 1e6 / seconds) * 100) / 100,
    machine: machineShare(window, total),
  };
}

function machineShare(window: CpuWindow, requests: number): MachineShare {
  const used = window.finish();
  const perRequest = (seconds: number) => roundCpu((seconds * 1000) / requests);
  return {
    receiverMs: perRequest(used.processSeconds[0]),
    postgresMs: perRequest(used.databaseSeconds),
    machineMs: perRequest(used.machineSeconds),
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Polls the receiver's count (cheap: an IPC message) every 10 ms until it reaches `count`. */
async function untilReceived(receiver: ChildProcess, count: number): Promise<void> {
  while ((await receivedCount(receiver)) < count) await new Promise((resolve) => setTimeout(resolve, 10));
}

function receivedCount(receiver: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    receiver.once('message', (message: { count: number }) => resolve(message.count));
    receiver.send({ type: 'count' });
  });
}

/** The same POSTs with nothing around them, from a process of their own: the ceiling for this receiver here. */
async function bareLoop(
  loop: ChildProcess,
  origin: string,
  body: string,
  count: number,
): Promise<{ perSecond: number; cpuMsPerRequest: number }> {
  const answer = await new Promise<{ perSecond: number; cpuMsPerRequest: number; error?: string }>((resolve) => {
    loop.once('message', resolve);
    loop.send({ origin, body, count, concurrency: CONCURRENCY, endpoints: ENDPOINTS });
  });
  if (answer.error) throw new Error(`bare loop: ${answer.error}`);
  return { perSecond: answer.perSecond, cpuMsPerRequest: roundCpu(answer.cpuMsPerRequest) };
}

function roundCpu(ms: number): number {
  return Math.round(ms * 1000) / 1000;
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
