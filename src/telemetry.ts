import { existsSync } from 'node:fs';

/**
 * Loaded first by main.ts and worker.ts: with OTEL_EXPORTER_OTLP_ENDPOINT set (in the environment or
 * `.env`), the OpenTelemetry SDK starts before the libraries it instruments are loaded. Unset, nothing of
 * it is loaded at all.
 */
if (existsSync('.env')) process.loadEnvFile('.env');
if (process.env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim()) {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { startTracing } = require('./platform/tracing/tracing-sdk') as typeof import('./platform/tracing/tracing-sdk');
  const sdk = startTracing(process.env.OTEL_SERVICE_NAME?.trim() || 'switchboard');
  // Spans still buffered go out before the process exits.
  process.once('beforeExit', () => void sdk.shutdown().catch(() => undefined));
}
