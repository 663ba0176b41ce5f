import { randomBytes } from 'node:crypto';
import { Client, Pool } from 'pg';

const BASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const ADMIN_DATABASE_URL = BASE_URL;

export function templateDatabaseName(hash: string): string {
  return `switchboard_template_${hash}`;
}

export interface TestDatabase {
  name: string;
  url: string;
  /** A pool for assertions and seeding. */
  pool: Pool;
  drop(): Promise<void>;
}

/** A fresh database for one test file, cloned from the migrated template (fast: a file copy). */
export async function createTestDatabase(): Promise<TestDatabase> {
  const template = process.env.SWITCHBOARD_TEST_TEMPLATE;
  if (!template) throw new Error('the jest globalSetup did not run');
  const name = `switchboard_test_${randomBytes(6).toString('hex')}`;
  for (let attempt = 1; ; attempt++) {
    try {
      await withAdmin((admin) => admin.query(`CREATE DATABASE "${name}" TEMPLATE "${template}"`));
      break;
    } catch (error) {
      // 55006: another file is cloning the template at this moment.
      if ((error as { code?: string }).code !== '55006' || attempt >= 20) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
    }
  }
  const url = BASE_URL.replace(/\/[^/]*$/, `/${name}`);
  const pool = new Pool({ connectionString: url, max: 4 });
  // An idle assertion connection ended by the database's drop at teardown is not a test failure.
  pool.on('error', () => undefined);
  return {
    name,
    url,
    pool,
    async drop() {
      await pool.end();
      await withAdmin((admin) => admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    },
  };
}

async function withAdmin<T>(work: (client: Client) => Promise<T>): Promise<T> {
  const admin = new Client({ connectionString: ADMIN_DATABASE_URL });
  await admin.connect();
  try {
    return await work(admin);
  } finally {
    await admin.end();
  }
}
