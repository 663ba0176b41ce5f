import { DataSource } from 'typeorm';
import { ACCESS_TOKEN_PATTERN, ACCOUNT_ID_PATTERN } from '../accounts/account';
import { AccountRepository } from '../accounts/account.repository';
import { sealToken } from '../accounts/account-tokens';
import { AuditAction } from '../audit/audit-actions';
import { loadConfig } from '../bootstrap';
import { AppConfig } from '../platform/config/app-config';
import { DataCipher } from '../platform/crypto/data-cipher';
import { dataSourceOptions } from '../platform/database/data-source-options';
import { prepareDatabase } from '../platform/database/database-bootstrap';
import { poolOf, Sql } from '../platform/database/sql';
import { PROVIDERS } from '../providers/channel-provider';

const USAGE = `usage:
  npm run accounts -- add --provider <instagram|facebook|whatsapp> --account-id <id> [--name <name>] [--expires-at <ISO date>] < token-file
  npm run accounts -- list
The token is read from standard input (never from the command line, where the shell history would keep it).`;

/** Arguments that cannot make a command: exit code 2 with the usage, before anything is opened. */
class UsageError extends Error {}

type Command =
  | { kind: 'add'; provider: string; accountId: string; displayName: string | null; expiresAt: Date | null }
  | { kind: 'list' };

export function parseCommand(args: readonly string[]): Command {
  const [command, ...rest] = args;
  if (command === 'list') {
    if (rest.length) throw new UsageError(`list takes no arguments (got "${rest[0]}")`);
    return { kind: 'list' };
  }
  if (command !== 'add') throw new UsageError(command ? `unknown command "${command}"` : 'no command');
  const options = new Map<string, string>();
  for (let i = 0; i < rest.length; i += 2) {
    const flag = rest[i];
    const value = rest[i + 1];
    if (!['--provider', '--account-id', '--name', '--expires-at'].includes(flag)) {
      throw new UsageError(flag.startsWith('--') ? `unknown option ${flag}` : `unexpected argument "${flag}"`);
    }
    if (options.has(flag)) throw new UsageError(`${flag} is given twice`);
    if (value === undefined || value.startsWith('--')) throw new UsageError(`${flag} needs a value`);
    options.set(flag, value);
  }
  const provider = options.get('--provider') ?? '';
  if (!(PROVIDERS as readonly string[]).includes(provider)) {
    throw new UsageError(`--provider must be one of ${PROVIDERS.join(', ')}`);
  }
  const accountId = options.get('--account-id') ?? '';
  if (!ACCOUNT_ID_PATTERN.test(accountId)) {
    throw new UsageError('--account-id must be the id Meta sends (letters, digits and _ . : - only)');
  }
  const expires = options.get('--expires-at');
  const expiresAt = expires === undefined ? null : new Date(expires);
  if (expiresAt && Number.isNaN(expiresAt.getTime())) throw new UsageError('--expires-at must be an ISO 8601 date');
  return { kind: 'add', provider, accountId, displayName: options.get('--name')?.trim() || null, expiresAt };
}

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Standard input, read whole (the token). */
  stdin: () => Promise<string>;
}

/**
 * Adds an account (sealed token, audited as `cli`) or lists them, straight in Postgres: for provisioning
 * before the API runs. The workers send what a new token releases within their sweep interval.
 * Exit code: 0 done, 1 refused (the account exists, or the token is not one), 2 bad arguments.
 */
export async function runAccountsCli(args: readonly string[], io: CliIo, config: () => AppConfig = loadConfig) {
  let command: Command;
  try {
    command = parseCommand(args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr(`accounts: ${error.message}\n${USAGE}\n`);
    return 2;
  }
  const settings = config();
  let token = '';
  if (command.kind === 'add') {
    token = (await io.stdin()).trim();
    if (!ACCESS_TOKEN_PATTERN.test(token)) {
      io.stderr('accounts: standard input must hold the access token (8 to 4096 printable characters, no spaces)\n');
      return 1;
    }
  }
  await prepareDatabase(settings.databaseUrl);
  const dataSource = await new DataSource(dataSourceOptions(settings.databaseUrl, 2)).initialize();
  try {
    const accounts = new AccountRepository(new Sql(poolOf(dataSource)));
    if (command.kind === 'list') {
      for (const account of await accounts.list()) {
        const expiry = account.tokenExpiresAt ? `expires ${account.tokenExpiresAt.toISOString()}` : 'no expiry known';
        const token = account.hasToken ? expiry : 'environment token';
        io.stdout(
          `${account.provider.padEnd(9)} ${account.accountId}  ${account.status.padEnd(11)} ${token}  ${account.displayName ?? ''}\n`,
        );
      }
      return 0;
    }
    const added = await accounts.create(
      {
        provider: command.provider,
        accountId: command.accountId,
        displayName: command.displayName,
        tokenSealed: sealToken(new DataCipher(settings.keyring), command.provider, command.accountId, token),
        tokenExpiresAt: command.expiresAt,
        timezone: null,
        businessHours: null,
        autoReply: null,
      },
      {
        action: AuditAction.AccountCreated,
        outcome: 'success',
        actor: 'cli',
        metadata: { tokenExpiresAt: command.expiresAt },
      },
    );
    if (!added) {
      io.stderr(
        `accounts: ${command.provider} account ${command.accountId} exists already (change it with PATCH /admin/accounts)\n`,
      );
      return 1;
    }
    io.stdout(`Added ${added.provider} account ${added.accountId} (${added.status}); its token is sealed.\n`);
    return 0;
  } finally {
    await dataSource.destroy();
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

if (require.main === module) {
  runAccountsCli(process.argv.slice(2), {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    stdin: readStdin,
  }).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`accounts: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
