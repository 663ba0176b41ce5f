import { ClassifiedFailure } from '../failure';
import { BACKOFF_TYPE } from './queue-names';

const LONGEST_RETRY_AFTER_MS = 60 * 60 * 1000;

/**
 * Exponential backoff, base * 2^(n-1), capped, then jittered to 50-100 % of itself so a burst of
 * failures does not retry in lockstep. A `Retry-After` from the other side wins (up to an hour).
 */
export function retryDelay(
  attemptsMade: number,
  baseDelayMs: number,
  maxDelayMs: number,
  retryAfterMs?: number,
  random = Math.random,
): number {
  if (retryAfterMs !== undefined && retryAfterMs >= 0) return Math.min(retryAfterMs, LONGEST_RETRY_AFTER_MS);
  const exponential = Math.min(maxDelayMs, baseDelayMs * 2 ** Math.max(0, attemptsMade - 1));
  return Math.round(exponential * (0.5 + random() * 0.5));
}

/**
 * A BullMQ worker's `backoffStrategy` for jobs added with the custom backoff type: retryDelay over the
 * configured schedule, honouring a ClassifiedFailure's Retry-After.
 */
export function retryBackoff(retry: { baseDelayMs: number; maxDelayMs: number }) {
  return (attemptsMade: number, type?: string, error?: Error): number =>
    type === BACKOFF_TYPE
      ? retryDelay(
          attemptsMade,
          retry.baseDelayMs,
          retry.maxDelayMs,
          error instanceof ClassifiedFailure ? error.retryAfterMs : undefined,
        )
      : 0;
}
