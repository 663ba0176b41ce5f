import { spawn } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { createServer, Server } from 'node:http';
import { join } from 'node:path';
import { Client } from 'pg';
import { Pool } from 'undici';
import { databaseBackendsCpu, processCpuSeconds } from './lib/cpu';
import { ADMIN_URL, freePort, ROOT, stopProcess, withAdmin } from './lib/processes';

/**
 * CPU per processed webhook (a DM with its auto-reply) of the single API+worker process, tracing off and
 * on (spans to a sink collector on loopback), over the same short burst. A small, quick figure for the
 * cost of tracing: `tsc -p tsconfig.bench.json && node dist-bench/bench/tracing-cost.js [events]`.
 */
const EVENTS = Number(process.argv[2] ?? 2000);
const DATABASE = 'switchboard_bench_tracing';
const SECRET = 'bench-app-secret';

function listen(handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  return new Promise((done) =>
    server.listen(0, '127.0.0.1', () =>
      done({ server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}` }),
    ),
  );
}

function drain(req: import('node:http').IncomingMessage, then: () => void): void {
  req.on('data', () => undefined).on('end', then);
}

async function run(mode: 'off' | 'on', graphUrl: string, collectorUrl: string): Promise<{ ms: number; dbMs: number }> {
  await withAdmin((admin) => admin.query(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`));
  const port = await freePort();
  const prefix = `bench-tracing-${randomBytes(3).toString('hex')}`;
  const child = spawn(process.execPath, [join(ROOT, 'dist/main.js')], {
    env: {
      ...process.env,
      NODE_ENV: 'development',
      PORT: String(port),
      DATABASE_URL: ADMIN_URL.replace(/\/[^/]*$/, `/${DATABASE}`),
      QUEUE_PREFIX: prefix,
      META_APP_SECRETS: SECRET,
      META_VERIFY_TOKEN: 'bench-verify-token-0123',
      INSTAGRAM_GRAPH_URL: `${graphUrl}/v23.0`,
      INSTAGRAM_ACCESS_TOKEN: 'bench-token',
      DATA_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      SEND_RATE_PER_SECOND: '10000',
      SEND_BURST: '10000',
      LOG_LEVEL: 'warn',
      LOG_FILE: '/dev/null',
      ...(mode === 'on' ? { OTEL_EXPORTER_OTLP_ENDPOINT: collectorUrl } : { OTEL_EXPORTER_OTLP_ENDPOINT: '' }),
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    if ((await fetch(`${base}/health`).catch(() => undefined))?.ok) break;
    await new Promise((done) => setTimeout(done, 200));
  }
  const db = new Client({ connectionString: ADMIN_URL.replace(/\/[^/]*$/, `/${DATABASE}`) });
  await db.connect();
  const pool = new Pool(base, { connections: 16 });
  const cpuBefore = processCpuSeconds(child.pid);
  const dbBefore = [...databaseBackendsCpu(DATABASE).values()].reduce((a, b) => a + b, 0);
  let next = 0;
  const post = async () => {
    while (next < EVENTS) {
      const seq = next++;
      const account = `1784140000${String(seq % 100).padStart(7, '0')}`;
      const body = JSON.stringify({
        object: 'instagram',
        entry: [
          {
            id: account,
            time: Date.now(),
            messaging: [
              {
                sender: { id: `p-${mode}-${seq}` },
                recipient: { id: account },
                timestamp: Date.now(),
                message: { mid: `m-${mode}-${seq}`, text: 'hello' },
              },
            ],
          },
        ],
      });
      const signature = `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`;
      const response = await pool.request({
        method: 'POST',
        path: '/webhooks/instagram',
        headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature },
        body,
      });
      await response.body.dump();
    }
  };
  await Promise.all(Array.from({ length: 16 }, post));
  for (;;) {
    const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM replies WHERE status = 'sent'`);
    if (rows[0].n >= EVENTS) break;
    await new Promise((done) => setTimeout(done, 100));
  }
  const ms = ((processCpuSeconds(child.pid) - cpuBefore) * 1000) / EVENTS;
  const dbMs = (([...databaseBackendsCpu(DATABASE).values()].reduce((a, b) => a + b, 0) - dbBefore) * 1000) / EVENTS;
  await pool.close();
  await db.end();
  await stopProcess(child);
  return { ms, dbMs };
}

async function main(): Promise<void> {
  const graph = await listen((req, res) =>
    drain(req, () =>
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"recipient_id":"x","message_id":"m"}'),
    ),
  );
  let exported = 0;
  const collector = await listen((req, res) => {
    req.on('data', (chunk: Buffer) => (exported += chunk.length));
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
  });
  const results: string[] = [];
  for (const mode of ['off', 'on', 'off', 'on'] as const) {
    const { ms, dbMs } = await run(mode, graph.url, collector.url);
    results.push(
      `tracing ${mode}: ${ms.toFixed(3)} ms app CPU per event, ${dbMs.toFixed(3)} ms Postgres CPU per event`,
    );
    process.stderr.write(`${results[results.length - 1]}\n`);
  }
  process.stdout.write(
    `${EVENTS} events each\n${results.join('\n')}\nexported ${(exported / EVENTS / 2).toFixed(0)} bytes of spans per event\n`,
  );
  graph.server.close();
  collector.server.close();
  await withAdmin((admin) => admin.query(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`));
}

void main();
