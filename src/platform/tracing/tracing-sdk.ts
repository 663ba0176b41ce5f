import { FastifyOtelInstrumentation } from '@fastify/otel';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { BullMQOtel } from 'bullmq-otel';
import { ContentFreeSpans } from './content-free-spans';
import { enableTracing } from './tracing';

/** Paths not worth a trace: probes and scrapes. */
const UNTRACED = /^\/(health|metrics)(\/|\?|$)/;

/**
 * The OpenTelemetry SDK: traces over OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT (the exporter and the SDK read
 * the other standard OTEL_* variables themselves: headers, sampler, service name, batch sizes). Required
 * only when that variable is set, and before the libraries it instruments are loaded (src/telemetry.ts).
 */
export function startTracing(serviceName: string): NodeSDK {
  const sdk = new NodeSDK({
    serviceName,
    spanProcessors: [new ContentFreeSpans(new BatchSpanProcessor(new OTLPTraceExporter()))],
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (request) => UNTRACED.test(request.url ?? ''),
        // No header is copied into a span (headersToSpanAttributes stays empty).
      }),
      new FastifyOtelInstrumentation({
        registerOnInitialization: true,
        ignorePaths: (route) => UNTRACED.test(route.url),
      }),
      // The statement's text only (parameterised: $1, $2…), never its values.
      new PgInstrumentation({ requireParentSpan: true, enhancedDatabaseReporting: false }),
      // The command's name only: its arguments are keys and job data.
      new IORedisInstrumentation({ requireParentSpan: true, dbStatementSerializer: (command) => command }),
      new UndiciInstrumentation(),
    ],
  });
  sdk.start();
  enableTracing(new BullMQOtel({ tracerName: 'switchboard' }));
  return sdk;
}
