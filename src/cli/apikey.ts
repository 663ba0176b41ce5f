import { DataSource } from 'typeorm';
import { AuditAction } from '../audit/audit-actions';
import { AuditRepository } from '../audit/audit.repository';
import { ApiKeyRepository } from '../platform/auth/api-key.repository';
import { Role, ROLES } from '../platform/auth/api-key';
import { loadConfig } from '../bootstrap';
import { dataSourceOptions } from '../platform/database/data-source-options';
import { prepareDatabase } from '../platform/database/database-bootstrap';
import { Sql } from '../platform/database/sql';

const USAGE = `usage:
  npm run apikey -- create --role <staff|ops|publisher> --name <name> [--expires-in-days N]
  npm run apikey -- list
  npm run apikey -- revoke <id or name>`;

function option(args: string[], name: string): string | undefined {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? args[index + 1] : undefined;
}

async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  if (!command || !['create', 'list', 'revoke'].includes(command)) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const config = loadConfig();
  await prepareDatabase(config.databaseUrl);
  const dataSource = await new DataSource(dataSourceOptions(config.databaseUrl, 2)).initialize();
  try {
    const sql = new Sql(dataSource);
    const keys = new ApiKeyRepository(sql);
    const audit = new AuditRepository(sql);
    if (command === 'create') {
      const role = option(rest, 'role') as Role | undefined;
      const name = option(rest, 'name');
      const days = option(rest, 'expires-in-days');
      if (!role || !ROLES.includes(role) || !name) {
        process.stderr.write(`${USAGE}\n`);
        return 2;
      }
      const expiresAt = days ? new Date(Date.now() + Number(days) * 86_400_000) : null;
      const { key, record } = await keys.create(name, role, expiresAt);
      await audit.append([
        {
          action: AuditAction.ApiKeyCreated,
          outcome: 'success',
          actor: 'cli',
          metadata: { keyId: record.id, name, role },
        },
      ]);
      process.stdout.write(
        `Created ${role} key "${name}" (${record.id}). It is shown once; store it now:\n\n  ${key}\n\n`,
      );
    } else if (command === 'list') {
      for (const key of await keys.list()) {
        const state = key.revokedAt ? 'revoked' : key.expiresAt && key.expiresAt < new Date() ? 'expired' : 'active';
        process.stdout.write(`${key.id}  ${key.role.padEnd(9)} ${state.padEnd(8)} ${key.keyPrefix}…  ${key.name}\n`);
      }
    } else {
      const target = rest[0];
      if (!target) {
        process.stderr.write(`${USAGE}\n`);
        return 2;
      }
      const revoked = await keys.revoke(target);
      await audit.append(
        revoked.map((key) => ({
          action: AuditAction.ApiKeyRevoked,
          outcome: 'success' as const,
          actor: 'cli',
          metadata: { keyId: key.id, name: key.name },
        })),
      );
      process.stdout.write(
        revoked.length ? `Revoked ${revoked.length} key(s).\n` : `No active key named or with id "${target}".\n`,
      );
      return revoked.length ? 0 : 1;
    }
    return 0;
  } finally {
    await dataSource.destroy();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`apikey: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
