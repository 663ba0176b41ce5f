import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { createRedisClient, RedisClient } from './redis-connection';

/**
 * The process's Redis clients, opened here only. `commands` (scripts, keys, BullMQ's queues) waits out a
 * reconnection; `failFast` (the webhook path's producer, the relay, the queue figures) fails a command at
 * once while Redis is away, because Postgres already holds what it was about to enqueue. BullMQ's workers
 * add their own blocking connection to `commands`.
 */
@Injectable()
export class RedisConnections implements OnApplicationShutdown {
  readonly commands: RedisClient;
  readonly failFast: RedisClient;

  constructor(config: AppConfig) {
    this.commands = createRedisClient(config, { failFast: false });
    this.failFast = createRedisClient(config, { failFast: true });
    // Reported by the queues and readiness; an unhandled 'error' would crash the process.
    for (const client of [this.commands, this.failFast]) client.on('error', () => undefined);
  }

  /** After the workers drained (beforeApplicationShutdown): jobs still finishing need Redis. */
  onApplicationShutdown(): void {
    this.commands.disconnect();
    this.failFast.disconnect();
  }
}

/** Before any module starts: Redis must answer (one short-lived client, no retries). */
export async function pingRedis(config: AppConfig): Promise<void> {
  const redis = createRedisClient(config, { failFast: true }, { lazyConnect: true, retryStrategy: () => null });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    await redis.ping();
  } finally {
    redis.disconnect();
  }
}
