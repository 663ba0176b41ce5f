import { parseRetryAfter } from '../../platform/http/retry-after';

/** How an attempt ended. Stored on the attempt and the delivery; dead letters carry it as their category. */
export type DeliveryCategory =
  | 'network'
  | 'timeout'
  | 'redirect'
  | 'gone'
  | 'throttled'
  | 'client_error'
  | 'server_error'
  | 'blocked'
  /** Ours: the request could not be built (the endpoint's stored headers are invalid); it was never sent. */
  | 'invalid_request';

export interface AttemptFailure {
  category: DeliveryCategory;
  responseCode: number | null;
  retryAfterMs?: number;
  /** Sanitised: category and status code only. */
  summary: string;
}

const THROTTLING_STATUSES = new Set([429, 502, 503, 504]);
const LONGEST_RETRY_AFTER_MS = 60 * 60 * 1000;

/** Non-2xx answers. Redirects are failures: the subscriber must give its final URL. */
export function classifyStatus(status: number, retryAfter?: string): AttemptFailure {
  const base = { responseCode: status, summary: `endpoint answered ${status}` };
  if (status >= 300 && status < 400) return { ...base, category: 'redirect' };
  if (status === 410) return { ...base, category: 'gone' };
  if (THROTTLING_STATUSES.has(status)) {
    const retryAfterMs = parseRetryAfter(retryAfter);
    return {
      ...base,
      category: 'throttled',
      retryAfterMs: retryAfterMs === undefined ? undefined : Math.min(retryAfterMs, LONGEST_RETRY_AFTER_MS),
    };
  }
  if (status >= 500) return { ...base, category: 'server_error' };
  return { ...base, category: 'client_error' };
}

/** undici refusing the request itself (a header it does not allow): nothing reached the subscriber. */
const REFUSED_CODES = new Set(['UND_ERR_INVALID_ARG', 'UND_ERR_NOT_SUPPORTED']);
const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** Errors without an HTTP answer. */
export function classifyTransport(error: unknown): AttemptFailure {
  const code = String(
    (error as { code?: unknown })?.code ?? (error as { cause?: { code?: unknown } })?.cause?.code ?? '',
  );
  const name = (error as Error)?.name ?? '';
  if (code === 'EBLOCKEDDESTINATION' || (error as { cause?: Error })?.cause?.name === 'BlockedDestinationError') {
    return { category: 'blocked', responseCode: null, summary: 'destination address is not allowed' };
  }
  if (REFUSED_CODES.has(code)) {
    return {
      category: 'invalid_request',
      responseCode: null,
      summary: 'the request could not be built: fix the endpoint with PATCH (its custom headers)',
    };
  }
  if (TIMEOUT_CODES.has(code) || name === 'TimeoutError' || name === 'AbortError' || code === 'UND_ERR_ABORTED') {
    return { category: 'timeout', responseCode: null, summary: `no answer in time (${code || name})` };
  }
  return { category: 'network', responseCode: null, summary: `connection failed (${code || name || 'error'})` };
}

/** Failures that no retry can fix. */
export function isPermanent(category: DeliveryCategory): boolean {
  return category === 'gone' || category === 'blocked' || category === 'invalid_request';
}

/** Delay before the next attempt: the schedule's entry with up to 20 % jitter, or the subscriber's Retry-After. */
export function nextAttemptDelay(
  scheduleMs: readonly number[],
  attemptsMade: number,
  failure: AttemptFailure,
  random = Math.random,
): number | undefined {
  if (attemptsMade >= scheduleMs.length) return undefined;
  const scheduled = Math.round(scheduleMs[attemptsMade] * (1 + random() * 0.2));
  return failure.retryAfterMs !== undefined ? Math.max(failure.retryAfterMs, scheduled) : scheduled;
}

/**
 * How long until a pending delivery is due, from what Postgres holds (for putting it back on the queue when
 * its job's own delay is unknown: a batch run again, Redis lost): not before the event's `deliverAt`, and
 * after `attempts` failures not before the schedule's next step after the last one (without the jitter or
 * a longer Retry-After the lost job had).
 */
export function dueIn(
  scheduleMs: readonly number[],
  delivery: { attempts: number; lastAttemptMs: number | null; deliverAtMs: number | null },
  now = Date.now(),
): number {
  const retryAt =
    delivery.attempts > 0 && delivery.lastAttemptMs !== null
      ? delivery.lastAttemptMs + (scheduleMs[delivery.attempts] ?? 0)
      : 0;
  return Math.max(0, Math.round(Math.max(retryAt, delivery.deliverAtMs ?? 0) - now));
}
