import './telemetry';
import { Logger } from '@nestjs/common';
import { createApiApp, exitOnStartupFailure, loadConfig, prepareDependencies } from './bootstrap';

async function main(): Promise<void> {
  const config = loadConfig();
  await prepareDependencies(config);
  const app = await createApiApp(config);
  config.warnings.forEach((warning) => Logger.warn(warning, 'Config'));
  await app.listen({ port: config.port, host: '0.0.0.0' });
  Logger.log(`API listening on :${config.port} (workers ${config.workers.enabled ? 'in process' : 'off'})`, 'Main');
}

main().catch(exitOnStartupFailure);
