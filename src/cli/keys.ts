import { randomBytes } from 'node:crypto';
import { loadConfig } from '../bootstrap';
import { AppConfig } from '../platform/config/app-config';
import { KEY_ID_PATTERN } from '../platform/crypto/data-cipher';

const USAGE = `usage:
  npm run keys -- generate <kid>     a new data key, as the entry to put first in DATA_ENCRYPTION_KEYS
  npm run keys -- fingerprint-key    this install's fingerprint key, the value of DATA_FINGERPRINT_KEY
See docs/keys.md (key rotation).`;

/** Key material for the rotation runbook (docs/keys.md). Exit code: 0 done, 2 bad arguments. */
export function runKeysCli(args: readonly string[], out: (text: string) => void, config: () => AppConfig = loadConfig) {
  const [command, ...rest] = args;
  if (command === 'generate' && rest.length === 1 && KEY_ID_PATTERN.test(rest[0])) {
    out(`${rest[0]}:${randomBytes(32).toString('base64')}\n`);
    return 0;
  }
  if (command === 'fingerprint-key' && rest.length === 0) {
    out(`${config().keyring.fingerprintKey.toString('base64')}\n`);
    return 0;
  }
  process.stderr.write(`keys: ${command ? 'bad arguments' : 'no command'} (a kid is [A-Za-z0-9_-]{1,16})\n${USAGE}\n`);
  return 2;
}

if (require.main === module) {
  process.exit(runKeysCli(process.argv.slice(2), (text) => process.stdout.write(text)));
}
