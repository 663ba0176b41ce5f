import { execFileSync } from 'node:child_process';
import { cpSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import templateSetup from '../support/global-setup';

export const FAULT_DIST = join(__dirname, '../.artifacts/fault-dist');

/** The migrated template database, and the app compiled once for the processes the suite runs and kills. */
export default async function globalSetup(): Promise<void> {
  await templateSetup();
  const root = join(__dirname, '../..');
  try {
    execFileSync(
      process.execPath,
      [
        require.resolve('typescript/bin/tsc'),
        '-p',
        join(root, 'tsconfig.build.json'),
        '--outDir',
        FAULT_DIST,
        '--tsBuildInfoFile',
        join(FAULT_DIST, '.tsbuildinfo'),
      ],
      { stdio: 'inherit', cwd: root },
    );
  } catch (error) {
    // tsc still emits when it reports type errors; only a missing entry point stops the suite.
    if (!existsSync(join(FAULT_DIST, 'worker.js'))) throw error;
  }
  // The API process serves the web pages: they sit next to the compiled UI module, as after `npm run build`.
  cpSync(join(root, 'src', 'ui', 'public'), join(FAULT_DIST, 'ui', 'public'), { recursive: true });
}
