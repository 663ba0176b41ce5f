export const FAILURE_CATEGORIES = [
  'network',
  'timeout',
  'rate_limited',
  'server_error',
  'auth',
  'policy',
  'client_error',
  'malformed',
  'unknown',
] as const;

export type FailureCategory = (typeof FAILURE_CATEGORIES)[number];

const TRANSIENT: ReadonlySet<FailureCategory> = new Set([
  'network',
  'timeout',
  'rate_limited',
  'server_error',
  'unknown',
]);

export function isTransient(category: FailureCategory): boolean {
  return TRANSIENT.has(category);
}

export interface FailureDetails {
  category: FailureCategory;
  /** A sanitised description: status codes and error codes only, never a body or message content. */
  summary: string;
  httpStatus?: number;
  retryAfterMs?: number;
  /** The request may have reached the other side; resending could duplicate it. */
  ambiguous?: boolean;
}

/** A failure that has been classified. Its message is safe to log and store. */
export class ClassifiedFailure extends Error {
  readonly category: FailureCategory;
  readonly httpStatus?: number;
  readonly retryAfterMs?: number;
  readonly ambiguous: boolean;

  constructor(details: FailureDetails) {
    super(details.summary);
    this.name = 'ClassifiedFailure';
    this.category = details.category;
    this.httpStatus = details.httpStatus;
    this.retryAfterMs = details.retryAfterMs;
    this.ambiguous = details.ambiguous ?? false;
  }

  get transient(): boolean {
    return isTransient(this.category);
  }
}

const CONNECTION_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  '57P01', // admin_shutdown
  '57P03', // cannot_connect_now
  '08000',
  '08003',
  '08006',
]);

/**
 * Turns any thrown value into a ClassifiedFailure without copying its message: driver messages can
 * quote stored values (a Postgres duplicate-key detail does), and those may be patient data.
 */
export function classifyUnexpected(error: unknown): ClassifiedFailure {
  if (error instanceof ClassifiedFailure) return error;
  const code = typeof error === 'object' && error !== null ? String((error as { code?: unknown }).code ?? '') : '';
  const name = error instanceof Error ? error.name : typeof error;
  const connectionLost =
    CONNECTION_ERROR_CODES.has(code) ||
    (error instanceof Error &&
      /Connection terminated|connect ECONNREFUSED|timeout exceeded when trying to connect/i.test(error.message));
  return new ClassifiedFailure({
    category: connectionLost ? 'network' : 'unknown',
    summary: code ? `${name} (${code})` : name,
  });
}
