import { context, propagation, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BullMQOtel } from 'bullmq-otel';
import { currentTraceParent, enableTracing, inSpan, jobTraceMetadata } from '../../src/platform/tracing/tracing';

/**
 * What tracing costs on the hot paths, per event: the hooks each webhook and delivery pass through
 * (jobTraceMetadata at enqueue, currentTraceParent at publish, inSpan around a delivery), with tracing off
 * against the same work without the hooks (not installed), then on. Nanoseconds per event, best of five.
 * `tsc -p tsconfig.bench.json && node dist-bench/bench/micro/tracing.js`
 */
const EVENTS = 200_000;

async function perEvent(work: () => Promise<unknown>): Promise<number> {
  let best = Infinity;
  for (let round = 0; round < 5; round++) {
    const started = process.hrtime.bigint();
    for (let i = 0; i < EVENTS; i++) await work();
    best = Math.min(best, Number(process.hrtime.bigint() - started) / EVENTS);
  }
  return best;
}

const job = { eventId: '0193a8e0-0000-7000-8000-000000000001' };
const deliver = async () => job;

async function main(): Promise<void> {
  const absent = await perEvent(async () => {
    const events = [job];
    return deliver().then(() => events);
  });
  const off = await perEvent(async () => {
    let events = [job];
    const metadata = jobTraceMetadata();
    if (metadata) events = events.map((event) => ({ ...event, metadata }));
    currentTraceParent();
    return inSpan('outbound delivery', null, () => ({ 'switchboard.delivery.id': '1' }), deliver).then(() => events);
  });

  const manager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(manager);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  const exporter = new InMemorySpanExporter();
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
  enableTracing(new BullMQOtel({ tracerName: 'bench' }));
  const on = await trace.getTracer('bench').startActiveSpan('request', async (root) => {
    const ns = await perEvent(async () => {
      let events = [job];
      const metadata = jobTraceMetadata();
      if (metadata) events = events.map((event) => ({ ...event, metadata }));
      const parent = currentTraceParent();
      exporter.reset();
      return inSpan('outbound delivery', parent, () => ({ 'switchboard.delivery.id': '1' }), deliver).then(
        () => events,
      );
    });
    root.end();
    return ns;
  });
  const lines = [
    `hooks per event, not installed (same work, no hooks): ${absent.toFixed(0)} ns`,
    `hooks per event, tracing off:                         ${off.toFixed(0)} ns (+${(off - absent).toFixed(0)} ns)`,
    `hooks per event, tracing on (one span, two injects):   ${on.toFixed(0)} ns (+${(on - absent).toFixed(0)} ns)`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

void main();
