import { DataSource } from 'typeorm';
import { AuditAction } from '../audit/audit-actions';
import { AuditRepository } from '../audit/audit.repository';
import { ApiKeyRepository } from '../platform/auth/api-key.repository';
import { Role, ROLES } from '../platform/auth/api-key';
import { loadConfig } from '../bootstrap';
import { AppConfig } from '../platform/config/app-config';
import { dataSourceOptions } from '../platform/database/data-source-options';
import { prepareDatabase } from '../platform/database/database-bootstrap';
import { poolOf, Sql } from '../platform/database/sql';

const USAGE = `usage:
  npm run apikey -- create --role <staff|ops|publisher> --name <name> [--expires-in-days N]
  npm run apikey -- list
  npm run apikey -- revoke <id or name>`;

/** Ten years: a longer expiry is no expiry, and far larger numbers are not dates Postgres can store. */
const MAX_EXPIRY_DAYS = 3650;
const MAX_NAME_LENGTH = 200;

/** Arguments that cannot make a command: exit code 2 with the usage, before anything is opened. */
class UsageError extends Error {}

type Command =
  | { kind: 'create'; role: Role; name: string; expiresInDays: number | null }
  | { kind: 'list' }
  | { kind: 'revoke'; target: string };

/** Reads `--flag value` pairs (each flag once, each with a value) and the positional arguments. */
function readArguments(args: readonly string[], flags: readonly string[]) {
  const options = new Map<string, string>();
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const flag = arg.slice(2);
    if (!flags.includes(flag)) throw new UsageError(`unknown option ${arg}`);
    if (options.has(flag)) throw new UsageError(`${arg} is given twice`);
    const value = args[i + 1];
    if (value === undefined || value.startsWith('--')) throw new UsageError(`${arg} needs a value`);
    options.set(flag, value);
    i++;
  }
  return { options, positional };
}

export function parseCommand(args: readonly string[]): Command {
  const [command, ...rest] = args;
  if (command === 'create') {
    const { options, positional } = readArguments(rest, ['role', 'name', 'expires-in-days']);
    if (positional.length) throw new UsageError(`unexpected argument "${positional[0]}"`);
    const role = options.get('role');
    if (!role || !ROLES.includes(role as Role)) {
      throw new UsageError(`--role must be one of ${ROLES.join(', ')}${role ? ` (got "${role}")` : ''}`);
    }
    const name = options.get('name')?.trim();
    if (!name) throw new UsageError('--name must not be empty');
    if (name.length > MAX_NAME_LENGTH) throw new UsageError(`--name must be at most ${MAX_NAME_LENGTH} characters`);
    const days = options.get('expires-in-days');
    if (days !== undefined && (!/^\d+$/.test(days) || Number(days) < 1 || Number(days) > MAX_EXPIRY_DAYS)) {
      throw new UsageError(
        `--expires-in-days must be a whole number of days from 1 to ${MAX_EXPIRY_DAYS} (got "${days}")`,
      );
    }
    return { kind: 'create', role: role as Role, name, expiresInDays: days === undefined ? null : Number(days) };
  }
  if (command === 'list') {
    if (rest.length) throw new UsageError(`list takes no arguments (got "${rest[0]}")`);
    return { kind: 'list' };
  }
  if (command === 'revoke') {
    const { positional } = readArguments(rest, []);
    if (positional.length !== 1 || !positional[0].trim()) throw new UsageError('revoke takes one id or name');
    return { kind: 'revoke', target: positional[0].trim() };
  }
  throw new UsageError(command ? `unknown command "${command}"` : 'no command');
}

export interface CliOutput {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

/** The CLI's exit code: 0 done, 1 nothing to revoke, 2 bad arguments (with the usage). */
export async function runApiKeyCli(
  args: readonly string[],
  out: CliOutput,
  config: () => AppConfig = loadConfig,
): Promise<number> {
  let command: Command;
  try {
    command = parseCommand(args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    out.stderr(`apikey: ${error.message}\n${USAGE}\n`);
    return 2;
  }
  const { databaseUrl } = config();
  await prepareDatabase(databaseUrl);
  const dataSource = await new DataSource(dataSourceOptions(databaseUrl, 2)).initialize();
  try {
    const sql = new Sql(poolOf(dataSource));
    const keys = new ApiKeyRepository(sql);
    const audit = new AuditRepository(sql);
    if (command.kind === 'create') {
      const { role, name, expiresInDays } = command;
      const expiresAt = expiresInDays === null ? null : new Date(Date.now() + expiresInDays * 86_400_000);
      const { key, record } = await keys.create(name, role, expiresAt);
      await audit.append([
        {
          action: AuditAction.ApiKeyCreated,
          outcome: 'success',
          actor: 'cli',
          metadata: { keyId: record.id, name, role },
        },
      ]);
      out.stdout(`Created ${role} key "${name}" (${record.id}). It is shown once; store it now:\n\n  ${key}\n\n`);
    } else if (command.kind === 'list') {
      for (const key of await keys.list()) {
        const state = key.revokedAt ? 'revoked' : key.expiresAt && key.expiresAt < new Date() ? 'expired' : 'active';
        out.stdout(`${key.id}  ${key.role.padEnd(9)} ${state.padEnd(8)} ${key.keyPrefix}…  ${key.name}\n`);
      }
    } else {
      const revoked = await keys.revoke(command.target);
      await audit.append(
        revoked.map((key) => ({
          action: AuditAction.ApiKeyRevoked,
          outcome: 'success' as const,
          actor: 'cli',
          metadata: { keyId: key.id, name: key.name },
        })),
      );
      out.stdout(
        revoked.length
          ? `Revoked ${revoked.length} key(s).\n`
          : `No active key named or with id "${command.target}".\n`,
      );
      return revoked.length ? 0 : 1;
    }
    return 0;
  } finally {
    await dataSource.destroy();
  }
}

if (require.main === module) {
  runApiKeyCli(process.argv.slice(2), {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  }).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`apikey: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
