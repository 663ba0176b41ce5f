import { createServer } from 'node:net';
import { AddressInfo } from 'node:net';
import { Client } from 'pg';
import { prepareDependencies } from '../src/bootstrap';
import { AppConfig } from '../src/platform/config/app-config';
import { DependencyUnavailableError } from '../src/platform/database/database-bootstrap';
import { ADMIN_DATABASE_URL } from './support/test-database';

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('start-up', () => {
  it('names Postgres, and how to start it, when Postgres cannot be reached', async () => {
    const config = AppConfig.fromEnvironment({
      DATABASE_URL: `postgres://postgres@127.0.0.1:${await closedPort()}/switchboard`,
    });
    const failure = await prepareDependencies(config).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(DependencyUnavailableError);
    expect(failure).toMatchObject({ dependency: 'Postgres', hint: expect.stringContaining('pg_ctlcluster') });
  });

  it('names Redis, and how to start it, when Redis cannot be reached', async () => {
    const name = `switchboard_startup_${Date.now()}`;
    const config = AppConfig.fromEnvironment({
      DATABASE_URL: ADMIN_DATABASE_URL.replace(/\/[^/]*$/, `/${name}`),
      REDIS_URL: `redis://127.0.0.1:${await closedPort()}`,
    });
    try {
      const failure = await prepareDependencies(config).catch((error: unknown) => error);
      expect(failure).toMatchObject({ dependency: 'Redis', hint: expect.stringContaining('redis-server') });
    } finally {
      const admin = new Client({ connectionString: ADMIN_DATABASE_URL });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await admin.end();
    }
  });

  it('creates a missing database and migrates it, concurrently from several processes', async () => {
    const name = `switchboard_startup_${Date.now()}_race`;
    const config = AppConfig.fromEnvironment({ DATABASE_URL: ADMIN_DATABASE_URL.replace(/\/[^/]*$/, `/${name}`) });
    try {
      await Promise.all([prepareDependencies(config), prepareDependencies(config), prepareDependencies(config)]);
      const client = new Client({ connectionString: config.databaseUrl });
      await client.connect();
      const { rows } = await client.query(`SELECT count(*)::int AS n FROM schema_migrations`);
      await client.end();
      expect(rows[0].n).toBeGreaterThan(0);
    } finally {
      const admin = new Client({ connectionString: ADMIN_DATABASE_URL });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await admin.end();
    }
  });
});
