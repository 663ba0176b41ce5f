import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import request from 'supertest';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApiApp } from '../../src/bootstrap';
import { AppConfig } from '../../src/platform/config/app-config';
import { redisConnection } from '../../src/platform/redis/redis-connection';
import { FakeGraphApi } from './fake-graph-api';
import { sign } from './meta-payloads';
import { createTestDatabase, TestDatabase } from './test-database';

export const TEST_APP_SECRET = 'test-app-secret';
export const TEST_OLD_APP_SECRET = 'rotated-out-app-secret';
export const TEST_VERIFY_TOKEN = 'test-verify-token';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface TestApp {
  app: NestFastifyApplication;
  url: string;
  config: AppConfig;
  db: TestDatabase;
  graph: FakeGraphApi;
  /** For inspecting this app's keys (all under `prefix`). */
  redis: Redis;
  prefix: string;
  /** Everything the app logged. */
  logs(): string;
  close(): Promise<void>;
}

/** POSTs an Instagram webhook body signed with the test app secret, as Meta would. */
export function postWebhook(t: Pick<TestApp, 'url'>, body: string) {
  return request(t.url)
    .post('/webhooks/instagram')
    .set('content-type', 'application/json')
    .set('x-hub-signature-256', sign(body, TEST_APP_SECRET))
    .send(body);
}

export interface TestAppOptions {
  env?: Record<string, string>;
  /** Reuse a database (e.g. to restart the app over the same data). */
  db?: TestDatabase;
  graph?: FakeGraphApi;
  /** Share another app's queues (a second instance over the same Redis keys). */
  prefix?: string;
  /** Runs on the app before it listens (e.g. to add a probe route). */
  beforeListen?: (app: NestFastifyApplication) => void;
}

/**
 * The real API process (with in-process workers unless WORKERS_ENABLED=false) on an ephemeral port,
 * over its own database and its own queue prefix, talking to a fake Graph API on loopback.
 */
export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const db = options.db ?? (await createTestDatabase());
  const graph = options.graph ?? new FakeGraphApi();
  const graphUrl = options.graph ? undefined : await graph.start();
  const prefix = options.prefix ?? `sbtest-${randomBytes(4).toString('hex')}`;
  const logDir = mkdtempSync(join(tmpdir(), 'switchboard-test-'));
  const logFile = join(logDir, 'app.log');

  Object.assign(process.env, {
    NODE_ENV: 'test',
    DATABASE_URL: db.url,
    DATABASE_POOL_SIZE: '10',
    REDIS_URL: TEST_REDIS_URL,
    QUEUE_PREFIX: prefix,
    META_APP_SECRETS: `${TEST_APP_SECRET},${TEST_OLD_APP_SECRET}`,
    META_VERIFY_TOKEN: TEST_VERIFY_TOKEN,
    ...(graphUrl ? { INSTAGRAM_GRAPH_URL: graphUrl } : {}),
    INSTAGRAM_ACCESS_TOKEN: 'test-access-token',
    INSTAGRAM_TIMEOUT_MS: '2000',
    DATA_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    WORKERS_ENABLED: 'true',
    WORKER_CONCURRENCY: '20',
    USE_QUEUE: 'true',
    MAX_ATTEMPTS: '3',
    RETRY_BASE_DELAY_MS: '50',
    RELAY_INTERVAL_MS: '200',
    RELAY_GRACE_MS: '300',
    SHUTDOWN_TIMEOUT_MS: '5000',
    LOG_LEVEL: 'info',
    LOG_FILE: logFile,
    ...options.env,
  });
  const config = AppConfig.fromEnvironment(process.env);
  const app = await createApiApp(config, { nestLogLevels: ['error', 'warn'] });
  options.beforeListen?.(app);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  const redis = new Redis(TEST_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });

  let closed = false;
  return {
    app,
    url,
    config,
    db,
    graph,
    redis,
    prefix,
    logs: () => readFileSync(logFile, 'utf8'),
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
      if (!options.graph) await graph.stop();
      if (!options.prefix) await deleteKeys(redis, prefix);
      redis.disconnect();
      if (!options.db) await db.drop();
      rmSync(logDir, { recursive: true, force: true });
    },
  };
}

/** One of the app's BullMQ queues (its Redis, its prefix), to inspect or seed jobs; the caller closes it. */
export function openQueue<T = unknown>(t: Pick<TestApp, 'config' | 'prefix'>, name: string): Queue<T> {
  return new Queue<T>(name, { connection: redisConnection(t.config, { failFast: false }), prefix: t.prefix });
}

/**
 * Deletes every key under a prefix, at once (what a Redis restarted without persistence leaves of it). One
 * MULTI, not a DEL per SCAN page: a relay repairing the loss between two pages would have its repair deleted
 * while the marker it checks had already gone, which no real restart does.
 */
export async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  try {
    if (redis.status === 'wait') await redis.connect();
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, page] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      keys.push(...page);
      cursor = next;
    } while (cursor !== '0');
    if (keys.length === 0) return;
    const multi = redis.multi();
    for (let i = 0; i < keys.length; i += 1000) multi.del(...keys.slice(i, i + 1000));
    await multi.exec();
  } catch {
    // Redis unreachable at the end of a test that cut it: nothing to clean.
  }
}
