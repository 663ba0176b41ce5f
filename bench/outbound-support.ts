import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { createApiApp } from '../src/bootstrap';
import { AppConfig } from '../src/platform/config/app-config';
import { prepareDatabase } from '../src/platform/database/database-bootstrap';

export const RESULTS_DIR = resolve(__dirname, '../../bench/results');
const ADMIN_URL = process.env.BENCH_ADMIN_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

export const OPS_KEY = `sb_ops_bench_${randomBytes(12).toString('hex')}`;

export interface BenchApp {
  app: NestFastifyApplication;
  url: string;
  config: AppConfig;
  db: Client;
  close(): Promise<void>;
}

/** The real API (with or without its workers) in this process, over a fresh database and queue prefix. */
export async function startBenchApp(name: string, env: Record<string, string>): Promise<BenchApp> {
  // The web pages are static files next to the compiled code; tsc does not copy them into dist-bench.
  const pages = resolve(__dirname, '../src/ui/public');
  if (!existsSync(pages)) cpSync(resolve(__dirname, '../../src/ui/public'), pages, { recursive: true });
  const admin = new Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await admin.end();
  const databaseUrl = ADMIN_URL.replace(/\/[^/]*$/, `/${name}`);
  await prepareDatabase(databaseUrl);
  const prefix = `sbbench-${randomBytes(4).toString('hex')}`;
  Object.assign(process.env, {
    NODE_ENV: 'production',
    DATABASE_URL: databaseUrl,
    REDIS_URL,
    QUEUE_PREFIX: prefix,
    META_APP_SECRETS: 'bench-app-secret',
    META_VERIFY_TOKEN: 'bench-verify-token',
    DATA_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    OPS_API_KEYS: OPS_KEY,
    METRICS_TOKEN: OPS_KEY,
    LOG_LEVEL: 'error',
    LOG_REQUESTS: 'false',
    OUTBOUND_ALLOW_PRIVATE_NETWORKS: 'true',
    ...env,
  });
  const config = AppConfig.fromEnvironment(process.env);
  const app = await createApiApp(config, { nestLogLevels: ['error'] });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  const db = new Client({ connectionString: databaseUrl });
  await db.connect();
  return {
    app,
    url,
    config,
    db,
    async close() {
      await app.close();
      await db.end();
      await deleteKeys(prefix);
      const cleanup = new Client({ connectionString: ADMIN_URL });
      await cleanup.connect();
      await cleanup.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await cleanup.end();
    },
  };
}

async function deleteKeys(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    if (keys.length) await redis.unlink(...keys);
    cursor = next;
  } while (cursor !== '0');
  redis.disconnect();
}

export function writeResult(file: string, result: unknown): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const path = join(RESULTS_DIR, file);
  writeFileSync(path, `${JSON.stringify(result, null, 2)}\n`);
  return path;
}

export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((row) => row.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((row) => row[i].length)));
  const line = (row: string[]) => `| ${row.map((cell, i) => cell.padEnd(widths[i])).join(' | ')} |`;
  return [line(cells[0]), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.slice(1).map(line)].join(
    '\n',
  );
}

export const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;
export const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
