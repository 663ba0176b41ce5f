import { AppConfig } from '../src/platform/config/app-config';
import { runApiKeyCli } from '../src/cli/apikey';
import { createTestDatabase, TestDatabase } from './support/test-database';

describe('npm run apikey (against a test database)', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db?.drop());

  async function run(...args: string[]) {
    let stdout = '';
    let stderr = '';
    const code = await runApiKeyCli(
      args,
      { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text) },
      () => AppConfig.fromEnvironment({ NODE_ENV: 'test', DATABASE_URL: db.url }),
    );
    return { code, stdout, stderr };
  }
  const keys = async () => (await db.pool.query(`SELECT name, role, expires_at, revoked_at FROM api_keys`)).rows;

  it.each([
    [
      ['create', '--role', 'ops', '--name', 'alice', '--expires-in-days', 'abc'],
      /--expires-in-days must be a whole number/,
    ],
    [['create', '--role', 'ops', '--name', 'alice', '--expires-in-days', '0'], /--expires-in-days/],
    [['create', '--role', 'ops', '--name', 'alice', '--expires-in-days', '-3'], /--expires-in-days/],
    [['create', '--role', 'ops', '--name', 'alice', '--expires-in-days', '1.5'], /--expires-in-days/],
    [['create', '--role', 'ops', '--name', 'alice', '--expires-in-days', '1e9'], /--expires-in-days/],
    [['create', '--role', 'ops', '--name', 'alice', '--expires-in-days', '99999999'], /--expires-in-days/],
    [['create', '--role', 'ops', '--name', 'alice', '--expires-in-days'], /--expires-in-days needs a value/],
    [['create', '--role', 'admin', '--name', 'alice'], /--role must be one of staff, ops, publisher \(got "admin"\)/],
    [['create', '--name', 'alice'], /--role must be one of/],
    [['create', '--role', 'ops', '--name', '   '], /--name must not be empty/],
    [['create', '--role', 'ops'], /--name must not be empty/],
    [['create', '--role', 'ops', '--name', '--expires-in-days', '3'], /--name needs a value/],
    [['create', '--role', 'ops', '--name', 'alice', '--colour', 'red'], /unknown option --colour/],
    [['create', '--role', 'ops', '--role', 'staff', '--name', 'alice'], /--role is given twice/],
    [['create', 'alice'], /unexpected argument "alice"/],
    [['list', '--all'], /list takes no arguments/],
    [['revoke'], /revoke takes one id or name/],
    [['revoke', 'a', 'b'], /revoke takes one id or name/],
    [['rotate'], /unknown command "rotate"/],
    [[], /no command/],
  ])('refuses %j with the usage and exit code 2, touching nothing', async (args, message) => {
    const result = await run(...args);
    expect(result).toMatchObject({ code: 2, stdout: '' });
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toContain('usage:');
    expect(await keys()).toEqual([]);
  });

  it('creates, lists and revokes a key', async () => {
    const created = await run('create', '--role', 'staff', '--name', ' bob ', '--expires-in-days', '30');
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/Created staff key "bob" .*\n\n {2}sb_staff_\S{43}\n/);
    const [row] = await keys();
    expect(row).toMatchObject({ name: 'bob', role: 'staff', revoked_at: null });
    expect((row.expires_at as Date).getTime() - Date.now()).toBeGreaterThan(29.9 * 86_400_000);

    expect((await run('list')).stdout).toMatch(/staff +active +sb_staff_\S{6}…  bob\n/);
    expect(await run('revoke', 'bob')).toMatchObject({ code: 0, stdout: 'Revoked 1 key(s).\n' });
    expect(await run('revoke', 'bob')).toMatchObject({ code: 1 });
  });
});
