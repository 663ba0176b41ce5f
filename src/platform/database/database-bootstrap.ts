import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from './data-source-options';

// Any constant shared by every Switchboard process; pg_advisory_lock serialises concurrent start-ups.
const MIGRATION_LOCK_KEY = 7_300_114_001;

export class DependencyUnavailableError extends Error {
  constructor(
    readonly dependency: 'Postgres' | 'Redis',
    readonly hint: string,
    cause: unknown,
  ) {
    super(`${dependency} is not reachable: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

/** Creates the database named in the URL when it does not exist yet (several processes may race here). */
export async function ensureDatabaseExists(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.slice(1));
  if (!name) return;
  url.pathname = '/postgres';
  const client = new Client({ connectionString: url.toString(), connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
  } catch (error) {
    throw new DependencyUnavailableError(
      'Postgres',
      'start it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` (or `docker compose up -d postgres`), or set DATABASE_URL',
      error,
    );
  }
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount === 0) {
      await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`).catch((error: { code?: string }) => {
        // Another process won the race: Postgres reports it as duplicate_database or, mid-commit, as a
        // unique violation on pg_database.
        if (error.code !== '42P04' && error.code !== '23505') throw error;
      });
    }
  } finally {
    await client.end();
  }
}

/** Runs pending migrations while holding a cluster-wide advisory lock. Returns the names applied. */
export async function migrate(databaseUrl: string): Promise<string[]> {
  const lock = new Client({ connectionString: databaseUrl, connectionTimeoutMillis: 3000 });
  await lock.connect();
  const dataSource = new DataSource(dataSourceOptions(databaseUrl, 2));
  try {
    // Poll rather than block: a session blocked in pg_advisory_lock holds a snapshot, and a migration that
    // builds an index CONCURRENTLY waits for every such snapshot, so a blocking wait would deadlock.
    while (!(await lock.query('SELECT pg_try_advisory_lock($1) AS ok', [MIGRATION_LOCK_KEY])).rows[0].ok) {
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    await dataSource.initialize();
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    return applied.map((migration) => migration.name);
  } finally {
    if (dataSource.isInitialized) await dataSource.destroy();
    await lock.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    await lock.end();
  }
}

export async function prepareDatabase(databaseUrl: string): Promise<string[]> {
  await ensureDatabaseExists(databaseUrl);
  return migrate(databaseUrl);
}
