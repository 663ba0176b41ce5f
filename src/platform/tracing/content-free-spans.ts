import type { Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';

/** Attributes that may carry a URL (url.full, url.path, http.target, …): their query string goes (the Meta handshake's verify token, a token refresh's token). */
const URL_ATTRIBUTE = /^(url|http)\./;
/** Attributes that may repeat an error's message (which can quote a value): gone. */
const MESSAGE_ATTRIBUTES = ['url.query', 'bullmq.job.failed.reason', 'exception.message', 'exception.stacktrace'];

/**
 * Before any span leaves the process: no query strings, no error messages (only their type), no status
 * message. The instrumentations are configured not to record bodies, headers or SQL parameters at all;
 * this is the backstop for what they record by default.
 */
export class ContentFreeSpans implements SpanProcessor {
  constructor(private readonly next: SpanProcessor) {}

  onStart(span: Span, parentContext: Context): void {
    this.next.onStart(span, parentContext);
  }

  onEnding(span: Span): void {
    scrub(span.attributes as Record<string, unknown>);
    for (const event of span.events) if (event.attributes) scrub(event.attributes as Record<string, unknown>);
    if (span.status.message)
      (span as { status: { code: number; message?: string } }).status = { code: span.status.code };
  }

  onEnd(span: ReadableSpan): void {
    this.next.onEnd(span);
  }

  forceFlush(): Promise<void> {
    return this.next.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.next.shutdown();
  }
}

export function scrub(attributes: Record<string, unknown>): void {
  for (const key of MESSAGE_ATTRIBUTES) delete attributes[key];
  for (const [key, value] of Object.entries(attributes)) {
    if (URL_ATTRIBUTE.test(key) && typeof value === 'string' && value.includes('?')) {
      attributes[key] = value.slice(0, value.indexOf('?'));
    }
  }
}
