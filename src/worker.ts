import './telemetry';
import { Logger } from '@nestjs/common';
import { createWorkerApp, exitOnStartupFailure, loadConfig, prepareDependencies } from './bootstrap';

async function main(): Promise<void> {
  const config = loadConfig();
  await prepareDependencies(config);
  const app = await createWorkerApp(config);
  config.warnings.forEach((warning) => Logger.warn(warning, 'Config'));
  if ('listen' in app && config.workers.healthPort !== undefined) {
    await app.listen({ port: config.workers.healthPort, host: '0.0.0.0' });
  }
  Logger.log(`worker running (concurrency ${config.workers.concurrency})`, 'Worker');
}

main().catch(exitOnStartupFailure);
