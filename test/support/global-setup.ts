import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { migrate } from '../../src/platform/database/database-bootstrap';
import { ADMIN_DATABASE_URL, templateDatabaseName } from './test-database';

/** Builds a migrated template database once per run (reused while the migrations are unchanged). */
export default async function globalSetup(): Promise<void> {
  const dir = join(__dirname, '../../src/platform/database/migrations');
  const hash = createHash('sha256');
  for (const file of readdirSync(dir).sort()) hash.update(file).update(readFileSync(join(dir, file)));
  const name = templateDatabaseName(hash.digest('hex').slice(0, 12));
  process.env.SWITCHBOARD_TEST_TEMPLATE = name;

  const admin = new Client({ connectionString: ADMIN_DATABASE_URL });
  await admin.connect();
  try {
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount) return;
    const building = `${name}_building_${process.pid}`;
    await admin.query(`CREATE DATABASE "${building}"`);
    await migrate(ADMIN_DATABASE_URL.replace(/\/[^/]*$/, `/${building}`));
    await admin.query(`ALTER DATABASE "${building}" RENAME TO "${name}"`).catch(async (error: { code?: string }) => {
      // Another run built it first.
      if (error.code !== '42P04') throw error;
      await admin.query(`DROP DATABASE "${building}"`);
    });
  } finally {
    await admin.end();
  }
}
