import { RedisOptions } from 'bullmq';
import { Cluster, Redis } from 'ioredis';
import { AppConfig } from '../config/app-config';

/** A client of the process's Redis: one server, or a Redis Cluster (REDIS_CLUSTER_NODES). */
export type RedisClient = Redis | Cluster;

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

/**
 * A client with those options: on a Redis Cluster, a cluster client seeded with REDIS_CLUSTER_NODES (the
 * credentials and TLS of REDIS_URL apply to every node). Every key of ours carries QUEUE_PREFIX's hash tag,
 * so the scripts and pipelines that touch several keys stay on one node.
 */
export function createRedisClient(
  config: AppConfig,
  options: { failFast: boolean },
  overrides: Partial<RedisOptions> = {},
): RedisClient {
  const single = { ...redisConnection(config, options), ...overrides };
  const nodes = config.redis.clusterNodes;
  if (!nodes) return new Redis(single);
  const { host: _host, port: _port, db: _db, retryStrategy, enableOfflineQueue, lazyConnect, ...perNode } = single;
  return new Cluster(nodes, {
    redisOptions: perNode,
    enableOfflineQueue,
    lazyConnect,
    clusterRetryStrategy: retryStrategy === undefined ? undefined : (times) => retryStrategy(times) ?? null,
    // A command that meets a failover or a resharding follows the cluster instead of failing at once.
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 500,
    slotsRefreshTimeout: 3000,
  });
}
