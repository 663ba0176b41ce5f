import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { request } from 'undici';

const run = promisify(execFile);

export interface CanaryPlace {
  place: string;
  searched: boolean;
  /** Bytes (or items) searched. */
  size: number;
  hits: number;
  note?: string;
}

/** Looks for the marker in plain text everywhere a message could leak to. */
export async function searchForMarker(options: {
  marker: string;
  logFiles: string[];
  redisUrl: string;
  prefix: string;
  databaseUrl: string;
  apiUrl: string;
  opsKey: string;
}): Promise<CanaryPlace[]> {
  const { marker } = options;
  const count = (text: string) => text.split(marker).length - 1;
  const places: CanaryPlace[] = [];

  const logs = options.logFiles
    .filter(existsSync)
    .map((file) => readFileSync(file, 'utf8'))
    .join('\n');
  places.push({ place: 'application logs', searched: true, size: logs.length, hits: count(logs) });

  places.push(await searchRedis(options.redisUrl, options.prefix, count));

  const dump = await run('pg_dump', ['--data-only', options.databaseUrl], { maxBuffer: 2 ** 31 - 1 }).then(
    (result) => result.stdout,
    (error: Error) => `pg_dump failed: ${error.message}`,
  );
  places.push({
    place: 'pg_dump --data-only',
    searched: !dump.startsWith('pg_dump failed'),
    size: dump.length,
    hits: count(dump),
  });

  for (const [place, path] of [
    ['GET /metrics', '/metrics'],
    ['GET /admin/dead-letters', '/admin/dead-letters?limit=500'],
    ['GET /audit-logs', '/audit-logs?limit=500'],
    ['GET /audit-logs?format=csv', '/audit-logs?format=csv&limit=500'],
    ['GET /health/queue', '/health/queue'],
  ]) {
    const response = await request(`${options.apiUrl}${path}`, {
      headers: { authorization: `Bearer ${options.opsKey}` },
    }).catch(() => undefined);
    const body = response ? await response.body.text() : '';
    const searched = response !== undefined && response.statusCode !== 404;
    places.push({
      place,
      searched,
      size: body.length,
      hits: count(body),
      note: searched ? `HTTP ${response?.statusCode}` : 'route not present in this build',
    });
  }
  return places;
}

async function searchRedis(url: string, prefix: string, count: (text: string) => number): Promise<CanaryPlace> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  let size = 0;
  let hits = 0;
  let keys = 0;
  try {
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      for (const key of batch) {
        keys += 1;
        hits += count(key);
        const type = await redis.type(key);
        const values: string[] =
          type === 'string'
            ? [(await redis.get(key)) ?? '']
            : type === 'hash'
              ? Object.entries(await redis.hgetall(key)).flat()
              : type === 'list'
                ? await redis.lrange(key, 0, -1)
                : type === 'set'
                  ? await redis.smembers(key)
                  : type === 'zset'
                    ? await redis.zrange(key, 0, -1)
                    : type === 'stream'
                      ? JSON.stringify(await redis.xrange(key, '-', '+')).split('\n')
                      : [];
        for (const value of values) {
          size += value.length;
          hits += count(value);
        }
      }
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return { place: 'Redis keys and values', searched: true, size, hits, note: `${keys} keys under ${prefix}:` };
}

export async function deleteRedisPrefix(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
