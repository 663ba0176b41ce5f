import { RedisOptions } from 'bullmq';
import { AppConfig } from '../config/app-config';

/**
 * Connection options (BullMQ opens its own clients from them). `failFast` is for the webhook path:
 * with Redis down a command fails at once instead of waiting in ioredis' offline queue, because the
 * row in Postgres is what makes the 200 safe and the relay enqueues it later.
 */
export function redisConnection(config: AppConfig, options: { failFast: boolean }): RedisOptions {
  return {
    host: config.redis.host,
    port: config.redis.port,
    db: config.redis.db,
    username: config.redis.username,
    password: config.redis.password,
    tls: config.redis.tls,
    connectTimeout: 3000,
    ...(options.failFast ? { enableOfflineQueue: false, maxRetriesPerRequest: 1 } : { maxRetriesPerRequest: null }),
    retryStrategy: (times: number) => Math.min(times * 200, 2000),
  };
}
