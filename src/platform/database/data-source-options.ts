import { PoolConfig } from 'pg';
import { DataSourceOptions } from 'typeorm';
import { MIGRATIONS } from './migrations';

/** How long the client waits past the server's statement timeout before it gives up on a silent network. */
export const QUERY_TIMEOUT_MARGIN_MS = 1000;

/**
 * Connection settings of every pool. With `statementTimeoutMs`, Postgres cancels a statement after it and
 * the client gives up shortly after even when the network says nothing (a frozen proxy, a partition);
 * without it (migrations, which may build indexes on large tables) statements run as long as they need.
 */
export function connectionSettings(statementTimeoutMs?: number): PoolConfig {
  return {
    // Fail fast when Postgres is down: the webhook answers 503 instead of hanging until Meta gives up.
    connectionTimeoutMillis: 3000,
    idleTimeoutMillis: 30_000,
    application_name: 'switchboard',
    // A dead peer of an idle pooled connection is noticed by the kernel, not by the next request.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    ...(statementTimeoutMs
      ? { statement_timeout: statementTimeoutMs, query_timeout: statementTimeoutMs + QUERY_TIMEOUT_MARGIN_MS }
      : {}),
  };
}

export function dataSourceOptions(databaseUrl: string, poolSize = 20, statementTimeoutMs?: number): DataSourceOptions {
  return {
    type: 'postgres',
    url: databaseUrl,
    migrations: MIGRATIONS,
    migrationsTableName: 'schema_migrations',
    synchronize: false,
    logging: false,
    poolSize,
    // Connections the pool opened stay open: after 30 s without traffic the pool would otherwise shrink, and
    // the next burst waits for new connections (and their prepared statements): after 46 s idle, 1,000 req/s
    // had p99 410–640 ms at the start against 61–82 ms with the connections kept (bench/JOURNAL.md).
    extra: { ...connectionSettings(statementTimeoutMs), min: poolSize },
  };
}
