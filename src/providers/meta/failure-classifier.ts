import { ClassifiedFailure, FailureCategory } from '../../platform/failure';

/** Graph error codes that mean "try again later" (temporary issue, throttling, service unavailable). */
const TRANSIENT_GRAPH_CODES = new Set([1, 2, 341, 1200]);
/** Graph throttling, plus WhatsApp's account (80007, 130429) and per-recipient pair (131056) limits. */
const THROTTLING_GRAPH_CODES = new Set([4, 17, 32, 613, 80007, 130429, 131056]);
/** Code 10 with these subcodes: the 24-hour messaging window has closed. Retrying cannot help. */
const POLICY_SUBCODES = new Set([2018278, 2534022]);
/** WhatsApp's re-engagement error: more than 24 hours since the person last wrote. */
const WHATSAPP_WINDOW_CLOSED = 131047;

export interface GraphError {
  code?: number;
  error_subcode?: number;
  is_transient?: boolean;
  type?: string;
}

/** Classifies a non-2xx Graph API answer from its HTTP status and `error` object. */
export function classifyGraphResponse(
  status: number,
  error: GraphError | undefined,
  retryAfterMs?: number,
): ClassifiedFailure {
  const code = typeof error?.code === 'number' ? error.code : undefined;
  const subcode = typeof error?.error_subcode === 'number' ? error.error_subcode : undefined;
  const category = graphCategory(status, code, subcode, error?.is_transient === true);
  const codes = [code !== undefined ? `code ${code}` : null, subcode !== undefined ? `subcode ${subcode}` : null]
    .filter(Boolean)
    .join(', ');
  return new ClassifiedFailure({
    category,
    httpStatus: status,
    retryAfterMs,
    summary: `Graph API answered ${status}${codes ? ` (${codes})` : ''}`,
  });
}

function graphCategory(
  status: number,
  code: number | undefined,
  subcode: number | undefined,
  isTransient: boolean,
): FailureCategory {
  if (code === 10 && subcode !== undefined && POLICY_SUBCODES.has(subcode)) return 'policy';
  if (code === WHATSAPP_WINDOW_CLOSED) return 'policy';
  if (code === 190 || status === 401) return 'auth';
  if (status === 429 || (code !== undefined && THROTTLING_GRAPH_CODES.has(code))) return 'rate_limited';
  if (isTransient || (code !== undefined && TRANSIENT_GRAPH_CODES.has(code))) return 'server_error';
  if (status >= 500) return 'server_error';
  if (status === 403 && code === 10) return 'policy';
  if (status >= 400) return 'client_error';
  return 'unknown';
}

// undici errors raised before the request could have reached the server: safe to send again.
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);
// Raised after the request was written: the server may have acted on it.
const AMBIGUOUS_TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** Classifies a transport error (no HTTP answer). Timeouts after sending are ambiguous. */
export function classifyTransportError(error: unknown): ClassifiedFailure {
  const code = String(
    (error as { code?: unknown })?.code ?? (error as { cause?: { code?: unknown } })?.cause?.code ?? '',
  );
  if (NOT_SENT_CODES.has(code)) {
    return new ClassifiedFailure({
      category: code === 'UND_ERR_CONNECT_TIMEOUT' ? 'timeout' : 'network',
      summary: `Graph API unreachable (${code})`,
    });
  }
  if (AMBIGUOUS_TIMEOUT_CODES.has(code) || (error as Error)?.name === 'TimeoutError' || code === 'UND_ERR_ABORTED') {
    return new ClassifiedFailure({
      category: 'timeout',
      summary: `Graph API did not answer in time (${code || 'timeout'})`,
      ambiguous: true,
    });
  }
  return new ClassifiedFailure({
    category: 'network',
    summary: `Graph API connection failed (${code || (error as Error)?.name || 'error'})`,
    ambiguous: true,
  });
}

/** An error the Graph API reported after accepting a message (a WhatsApp `failed` status), as a category. */
export function classifyReportedError(error: unknown): FailureCategory {
  return classifyGraphResponse(400, typeof error === 'object' && error !== null ? (error as GraphError) : undefined)
    .category;
}
