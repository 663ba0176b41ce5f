/** An endpoint's custom header that cannot be sent: the message names the header, never its value. */
export class CustomHeaderError extends Error {
  constructor(name: string, reason: string) {
    super(`header ${JSON.stringify(name.slice(0, 100))} ${reason}`);
  }
}

const MAX_HEADERS = 32;
const MAX_VALUE_LENGTH = 4096;
/** RFC 9110 token, as undici checks names. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$/;
/** What undici accepts in a value: tab, visible ASCII, space, and Latin-1 (sent as single bytes). */
const INVALID_VALUE_CHARACTER = /[^\t\x20-\x7e\x80-\xff]/;
/**
 * Hop-by-hop and framing headers (undici refuses most of them at dispatch, the others would break the
 * connection's framing), and the headers Switchboard sets on every delivery (any `webhook-` one too).
 */
const RESERVED = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'upgrade',
  'expect',
  'transfer-encoding',
  'te',
  'trailer',
  'host',
  'content-length',
  'content-type',
  'user-agent',
]);

/**
 * An endpoint's custom headers checked against the rules undici applies when it sends them, so a stored
 * endpoint never holds a header that fails at dispatch. Returned with lower-case names.
 */
export function validateCustomHeaders(headers: Record<string, unknown>): Record<string, string> {
  const entries = Object.entries(headers);
  if (entries.length > MAX_HEADERS) {
    throw new CustomHeaderError(entries[MAX_HEADERS][0], `is one too many (at most ${MAX_HEADERS} headers)`);
  }
  // No prototype: a header named `__proto__` is a name like any other.
  const clean: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [name, value] of entries) {
    const lower = name.toLowerCase();
    if (!TOKEN.test(name)) throw new CustomHeaderError(name, 'is not a valid header name');
    if (RESERVED.has(lower) || lower.startsWith('webhook-')) {
      throw new CustomHeaderError(name, 'is not allowed: hop-by-hop, framing, or set by Switchboard');
    }
    if (Object.hasOwn(clean, lower)) throw new CustomHeaderError(name, 'is given twice');
    if (typeof value !== 'string' || value.length > MAX_VALUE_LENGTH || INVALID_VALUE_CHARACTER.test(value)) {
      throw new CustomHeaderError(
        name,
        `must be a single-line string of at most ${MAX_VALUE_LENGTH} characters (no control characters)`,
      );
    }
    clean[lower] = value;
  }
  return clean;
}
