import { context, propagation, Span, SpanKind, trace } from '@opentelemetry/api';
import type { Telemetry } from 'bullmq';

/**
 * What the code on the hot paths asks of tracing. Off (OTEL_EXPORTER_OTLP_ENDPOINT unset), every helper
 * returns at its first line: no context is read, no object built, and the SDK is never loaded.
 * On, trace context travels as ids only: a W3C traceparent in job data and on outbound events.
 */
let enabled = false;
let telemetry: Telemetry | undefined;

/** Called once by the SDK's start (tracing-sdk.ts), before the application is built. */
export function enableTracing(queueTelemetry: Telemetry): void {
  enabled = true;
  telemetry = queueTelemetry;
}

export function tracingEnabled(): boolean {
  return enabled;
}

/** BullMQ's telemetry (a consumer span per job, parented by the job's metadata); undefined when off. */
export function queueTelemetry(): Telemetry | undefined {
  return telemetry;
}

/** The active trace context as BullMQ job metadata (`{"traceparent":…}`), for a job queued later in a batch. */
export function jobTraceMetadata(): string | undefined {
  if (!enabled) return undefined;
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent ? JSON.stringify({ traceparent: carrier.traceparent }) : undefined;
}

/** The active context's traceparent (kept on an outbound event, so each of its deliveries joins the trace). */
export function currentTraceParent(): string | null {
  if (!enabled) return null;
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent ?? null;
}

/**
 * Runs `work` in a span whose parent is `traceParent` (or the active context when null). Attributes must be
 * ids, counts and categories, never content; they are built only when tracing is on.
 */
export function inSpan<T>(
  name: string,
  traceParent: string | null,
  attributesOf: () => Record<string, string | number>,
  work: () => Promise<T>,
): Promise<T> {
  if (!enabled) return work();
  const attributes = attributesOf();
  const parent = traceParent ? propagation.extract(context.active(), { traceparent: traceParent }) : context.active();
  return trace
    .getTracer('switchboard')
    .startActiveSpan(name, { kind: SpanKind.INTERNAL, attributes }, parent, async (span: Span) => {
      try {
        return await work();
      } finally {
        span.end();
      }
    });
}
