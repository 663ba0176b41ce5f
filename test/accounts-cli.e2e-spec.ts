import { runAccountsCli } from '../src/cli/accounts';
import { AppConfig } from '../src/platform/config/app-config';
import { openToken } from '../src/accounts/account-tokens';
import { DataCipher } from '../src/platform/crypto/data-cipher';
import { createTestDatabase, TestDatabase } from './support/test-database';

describe('npm run accounts (against a test database)', () => {
  let db: TestDatabase;
  const key = Buffer.alloc(32, 7);
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db?.drop());

  async function run(args: string[], stdin = '') {
    let stdout = '';
    let stderr = '';
    const code = await runAccountsCli(
      args,
      { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text), stdin: async () => stdin },
      () =>
        AppConfig.fromEnvironment({
          NODE_ENV: 'test',
          DATABASE_URL: db.url,
          DATA_ENCRYPTION_KEY: key.toString('base64'),
        }),
    );
    return { code, stdout, stderr };
  }

  it.each([
    [['add', '--account-id', '1784'], /--provider must be one of instagram, facebook, whatsapp/],
    [['add', '--provider', 'instagram', '--account-id', 'a b'], /--account-id must be the id Meta sends/],
    [['add', '--provider', 'instagram', '--account-id', '1784', '--expires-at', 'soon'], /--expires-at must be an ISO/],
    [['add', '--provider', 'instagram', '--account-id', '1784', '--token', 'x'], /unknown option --token/],
    [['add', '--provider'], /--provider needs a value/],
    [['list', 'all'], /list takes no arguments/],
    [['remove'], /unknown command "remove"/],
  ])('refuses %j with the usage and exit code 2', async (args, message) => {
    const result = await run(args, 'IGAAtoken-0123456789');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toContain('usage:');
  });

  it('adds an account with the token from standard input, sealed and audited, and lists it without the token', async () => {
    const token = 'IGAAcli-token-0123456789';
    const added = await run(
      [
        'add',
        '--provider',
        'instagram',
        '--account-id',
        '17841400000000555',
        '--name',
        'Porto',
        '--expires-at',
        '2031-05-01T00:00:00Z',
      ],
      `${token}\n`,
    );
    expect(added).toMatchObject({ code: 0, stderr: '' });
    expect(added.stdout).toBe('Added instagram account 17841400000000555 (active); its token is sealed.\n');
    const [row] = (await db.pool.query(`SELECT token_sealed, token_expires_at FROM accounts`)).rows;
    expect(openToken(new DataCipher(key), 'instagram', '17841400000000555', row.token_sealed)).toBe(token);
    expect(row.token_expires_at.toISOString()).toBe('2031-05-01T00:00:00.000Z');
    const audit = (await db.pool.query(`SELECT action, actor, metadata::text AS metadata FROM audit_log`)).rows;
    expect(audit).toEqual([expect.objectContaining({ action: 'account.created', actor: 'cli' })]);
    expect(audit[0].metadata).not.toContain(token);

    const again = await run(['add', '--provider', 'instagram', '--account-id', '17841400000000555'], token);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/exists already/);
    const list = await run(['list']);
    expect(list.stdout).toMatch(
      /^instagram 17841400000000555 {2}active {6}expires 2031-05-01T00:00:00.000Z {2}Porto\n$/,
    );
    expect(list.stdout + added.stdout + again.stderr).not.toContain(token);
  });

  it('refuses standard input that is not a token, touching nothing', async () => {
    const result = await run(['add', '--provider', 'whatsapp', '--account-id', '1055'], 'not a token\n');
    expect(result).toMatchObject({ code: 1, stdout: '' });
    expect(result.stderr).toMatch(/standard input must hold the access token/);
    expect(result.stderr).not.toContain('not a token');
  });
});
