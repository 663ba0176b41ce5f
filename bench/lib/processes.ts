import { ChildProcess, fork, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { request } from 'undici';

export const ROOT = resolve(__dirname, '../../..');
export const LIB = __dirname;

/** Forks one of the bench's helper processes and waits for the port it reports. */
export async function forkHelper(
  file: string,
  env: Record<string, string> = {},
): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(join(LIB, file), [], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolvePort, reject) => {
    child.once('message', (message: { port?: number }) => resolvePort(Number(message.port)));
    child.once('exit', (code) => reject(new Error(`${file} exited with ${code}`)));
  });
  return { child, port };
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

export async function stopProcess(
  child: ChildProcess | undefined,
  signal: NodeJS.Signals = 'SIGTERM',
  graceMs = 30_000,
): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

export const ADMIN_URL = process.env.BENCH_ADMIN_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export async function withAdmin<T>(work: (client: Client) => Promise<T>, url = ADMIN_URL): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Drops the bench database; the app creates and migrates it at start. */
export async function resetDatabase(name: string): Promise<string> {
  await withAdmin((admin) => admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
  return ADMIN_URL.replace(/\/[^/]*$/, `/${name}`);
}

export interface AppEnv {
  port: number;
  databaseUrl: string;
  graphUrl: string;
  prefix: string;
  secret: string;
  logFile: string;
  extra?: Record<string, string>;
}

export const OPS_KEY = `sk_bench_${randomBytes(12).toString('hex')}`;

export function appEnvironment(options: AppEnv): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    NODE_ENV: 'production',
    PORT: String(options.port),
    DATABASE_URL: options.databaseUrl,
    REDIS_URL: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379',
    QUEUE_PREFIX: options.prefix,
    META_APP_SECRETS: options.secret,
    META_VERIFY_TOKEN: 'bench-verify-token',
    INSTAGRAM_GRAPH_URL: options.graphUrl,
    INSTAGRAM_ACCESS_TOKEN: 'bench-access-token',
    DATA_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    OPS_API_KEYS: OPS_KEY,
    // Production needs one; the privacy canary reads /metrics with the ops key's bearer.
    METRICS_TOKEN: OPS_KEY,
    STAFF_API_KEYS: `sk_bench_staff_${randomBytes(12).toString('hex')}`,
    LOG_FILE: options.logFile,
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
    ...options.extra,
  };
}

/**
 * The app as compiled together with the bench (dist-bench/src), so a concurrent `npm run build` of dist/
 * cannot swap the code under a running benchmark; BENCH_APP_DIST=dist runs dist/ instead.
 */
export const APP_DIST = join(ROOT, process.env.BENCH_APP_DIST ?? 'dist-bench/src');

/** Starts `node <APP_DIST>/<entry>` and, for the API, waits until /health/ready answers 200. */
export async function startApp(
  entry: 'main.js' | 'worker.js',
  env: Record<string, string>,
  readyUrl?: string,
): Promise<ChildProcess> {
  // tsc does not copy the web pages next to the compiled UI module (npm run build does, for dist/).
  const pages = join(ROOT, 'src', 'ui', 'public');
  if (existsSync(pages) && !existsSync(join(APP_DIST, 'ui', 'public')))
    cpSync(pages, join(APP_DIST, 'ui', 'public'), { recursive: true });
  const child = spawn(
    process.execPath,
    [...(process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []), join(APP_DIST, entry)],
    {
      env,
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  if (!readyUrl) return child;
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${entry} exited at start (${child.exitCode}): ${stderr}`);
    const status = await request(readyUrl)
      .then(async (response) => {
        await response.body.dump();
        return response.statusCode;
      })
      .catch(() => 0);
    if (status === 200) return child;
    await new Promise((done) => setTimeout(done, 250));
  }
  await stopProcess(child, 'SIGKILL');
  throw new Error(`${entry} did not become ready: ${stderr}`);
}
