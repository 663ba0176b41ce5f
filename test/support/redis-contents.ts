import { TestApp } from './test-app';

/** Every key under the app's queue prefix. */
export async function scanAll(t: Pick<TestApp, 'redis' | 'prefix'>): Promise<string[]> {
  if (t.redis.status === 'wait') await t.redis.connect();
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await t.redis.scan(cursor, 'MATCH', `${t.prefix}:*`, 'COUNT', 1000);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return keys;
}

/** A key's value as text, whatever its type (for checking that no content reached Redis). */
export async function dumpKey(t: Pick<TestApp, 'redis'>, key: string): Promise<string> {
  const type = await t.redis.type(key);
  switch (type) {
    case 'string':
      return (await t.redis.get(key)) ?? '';
    case 'hash':
      return JSON.stringify(await t.redis.hgetall(key));
    case 'list':
      return JSON.stringify(await t.redis.lrange(key, 0, -1));
    case 'set':
      return JSON.stringify(await t.redis.smembers(key));
    case 'zset':
      return JSON.stringify(await t.redis.zrange(key, 0, -1));
    case 'stream':
      return JSON.stringify(await t.redis.xrange(key, '-', '+'));
    default:
      return '';
  }
}
