import { Pool, PoolClient, QueryConfig, QueryResultRow } from 'pg';
import { DataSource } from 'typeorm';
import { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import { QUERY_TIMEOUT_MARGIN_MS } from './data-source-options';
import { sqlStateOf } from './database-errors';

/** The pg pool TypeORM opened (PostgresDriver.master, a public property). */
export function poolOf(dataSource: DataSource): Pool {
  if (!(dataSource.driver instanceof PostgresDriver)) throw new Error('Switchboard runs on Postgres only');
  return dataSource.driver.master as Pool;
}

/**
 * Plain SQL on a pg pool (the one TypeORM opened, for the request path). The hot paths use it directly:
 * rows back from every statement (TypeORM's query() returns [rows, count] for UPDATE), and no query-runner
 * set-up per statement.
 */
export class Sql {
  constructor(protected readonly pool: Pool) {
    // An idle connection dropped by a Postgres restart must not crash the process; the next query reconnects.
    if (this.pool.listenerCount('error') === 0) this.pool.on('error', () => undefined);
  }

  async query<T extends QueryResultRow = Record<string, unknown>>(text: string, values?: unknown[]): Promise<T[]> {
    const result = await this.pool.query<T>(text, values);
    return result.rows;
  }

  /**
   * A statement run very often with one fixed text (the webhook path's): a named prepared statement, parsed once
   * per connection, planned with a generic plan after a few runs. `name` must always come with the same text, and
   * that plan must suit any table size (see STORE_RECEIPTS).
   */
  async prepared<T extends QueryResultRow = Record<string, unknown>>(
    name: string,
    text: string,
    values: unknown[],
  ): Promise<T[]> {
    const result = await this.pool.query<T>({ name, text, values });
    return result.rows;
  }

  async one<T extends QueryResultRow = Record<string, unknown>>(
    text: string,
    values?: unknown[],
  ): Promise<T | undefined> {
    return (await this.query<T>(text, values))[0];
  }

  /** Whether Postgres answers now (a job that failed on its own database must not use an attempt). */
  reachable(): Promise<boolean> {
    return this.pool.query('SELECT 1').then(
      () => true,
      () => false,
    );
  }

  /**
   * One statement that may run for `timeoutMs` instead of the pool's statement timeout (a receipt far larger
   * than usual): a transaction of its own, so the setting ends with it.
   */
  async queryWithin<T extends QueryResultRow = Record<string, unknown>>(
    timeoutMs: number,
    text: string,
    values?: unknown[],
  ): Promise<T[]> {
    return this.transaction(async (client) => {
      await client.query(`SELECT set_config('statement_timeout', $1, true)`, [String(Math.ceil(timeoutMs))]);
      const query: QueryConfig & { query_timeout: number } = {
        text,
        values,
        query_timeout: Math.ceil(timeoutMs) + QUERY_TIMEOUT_MARGIN_MS,
      };
      return (await client.query<T>(query)).rows;
    });
  }

  async transaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    // A checked-out client has no pool listener: a connection lost mid-transaction would be an uncaught 'error'.
    let lost: Error | undefined;
    const onError = (error: Error) => (lost = error);
    client.on('error', onError);
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      // Postgres answered (a SQLSTATE): the connection is fine and rolls back. Anything else (a timeout, a
      // silent network) leaves it unusable: it is destroyed, and Postgres rolls back when it notices.
      if (sqlStateOf(error) === undefined) lost ??= error instanceof Error ? error : new Error('transaction failed');
      else await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.off('error', onError);
      // A broken connection is destroyed, not handed to the next caller.
      client.release(lost);
    }
  }
}

/**
 * Maintenance statements (retention, erasure) on a small pool of their own: they may run longer than the
 * request path's statement timeout, and never hold the connections webhooks need.
 */
export class MaintenanceSql extends Sql {
  async close(): Promise<void> {
    await this.pool.end();
  }
}
