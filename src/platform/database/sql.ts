import { Injectable } from '@nestjs/common';
import { Pool, PoolClient, QueryResultRow } from 'pg';
import { DataSource } from 'typeorm';
import { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';

/**
 * Plain SQL on the pool TypeORM opened. The hot paths use it directly: rows back from every statement
 * (TypeORM's query() returns [rows, count] for UPDATE), and no query-runner set-up per statement.
 */
@Injectable()
export class Sql {
  private readonly pool: Pool;

  constructor(dataSource: DataSource) {
    if (!(dataSource.driver instanceof PostgresDriver)) throw new Error('Switchboard runs on Postgres only');
    this.pool = dataSource.driver.master as Pool;
    // An idle connection dropped by a Postgres restart must not crash the process; the next query reconnects.
    if (this.pool.listenerCount('error') === 0) this.pool.on('error', () => undefined);
  }

  async query<T extends QueryResultRow = Record<string, unknown>>(text: string, values?: unknown[]): Promise<T[]> {
    const result = await this.pool.query<T>(text, values);
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
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.off('error', onError);
      // A broken connection is destroyed, not handed to the next caller.
      client.release(lost);
    }
  }
}
