import { isUtf8 } from 'node:buffer';
import { parse as parseLosslessly } from 'lossless-json';
import { Fingerprint, MalformedEnvelopeError } from '../channel-provider';

/** Defensive reading of Meta's JSON: every field may be missing or of another type. */
export type Json = Record<string, unknown>;
export type { Fingerprint };

/**
 * Ids and labels longer than this are stored in a bounded form (see `boundedText`). Meta's ids are far
 * shorter (an IGSID has 17 digits, a mid about 100 characters), and 256 UTF-16 units keep a key of a
 * few of them well inside Postgres' btree limit (2,704 bytes per index entry).
 */
export const MAX_ID_LENGTH = 256;
/** An idempotency key longer than this is replaced by its fingerprint (each unit is at most 3 UTF-8 bytes). */
export const MAX_KEY_LENGTH = 600;
/** Meta batches at most 1,000 updates; a body with more items than this is dead-lettered whole. */
export const MAX_EVENTS_PER_BODY = 10_000;
/** The readable part kept of an id that had to be bounded or cleaned. */
const READABLE_PREFIX = 64;

/**
 * What a text column must not hold: control characters (Postgres text cannot store NUL; the rest
 * garble logs and screens), bidirectional overrides, line separators, and lone surrogates (they
 * cannot be encoded as UTF-8, so distinct ids would meet as U+FFFD).
 */
const UNSAFE_SOURCE =
  '[\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069\\ufeff]' +
  '|[\\ud800-\\udbff](?![\\udc00-\\udfff])|(?<![\\ud800-\\udbff])[\\udc00-\\udfff]';
const UNSAFE = new RegExp(UNSAFE_SOURCE);
const UNSAFE_ALL = new RegExp(UNSAFE_SOURCE, 'g');
/** The same characters, any surrogate included: a quicker first test that nearly every id passes. */
const MAYBE_UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028-\u202e\u2066-\u2069\ufeff\ud800-\udfff]/;

export const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * A text safe for a plain-text column and an index: the value itself when it is clean and short;
 * otherwise a readable prefix (unsafe characters as U+FFFD) followed by the keyed fingerprint of the
 * exact value, so two ids that differ anywhere (even in one invalid byte) stay two ids.
 */
export function boundedText(value: string, fingerprint: Fingerprint): string {
  if (value.length <= MAX_ID_LENGTH && (!MAYBE_UNSAFE.test(value) || !UNSAFE.test(value))) return value;
  const readable = value.slice(0, READABLE_PREFIX).replace(UNSAFE_ALL, '\ufffd');
  // UTF-16 code units are the exact value (invalid bytes arrive as their own escapes, see decodeBody).
  return `${readable}\u2026fp-${fingerprint(Buffer.from(value, 'utf16le'))}`;
}

/** An id as Meta sends it (a string or a number; beyond 2^53 the reader keeps the digits as a string), bounded. */
export function idOf(value: unknown, fingerprint: Fingerprint): string | null {
  if (typeof value === 'string') return value === '' ? null : boundedText(value, fingerprint);
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return null;
}

/** A short label (a change's `field`, a reaction's `action`): the string, bounded; anything else is `fallback`. */
export function labelOf(value: unknown, fallback: string, fingerprint: Fingerprint): string {
  return typeof value === 'string' && value !== '' ? boundedText(value, fingerprint) : fallback;
}

/** `provider:kind:rest`; a key too long for the unique index keeps its kind and fingerprints the rest. */
export function keyOf(prefix: string, rest: string, fingerprint: Fingerprint): string {
  const key = `${prefix}:${rest}`;
  return key.length <= MAX_KEY_LENGTH ? key : `${prefix}:h-${fingerprint(rest)}`;
}

/** The fingerprint of an id-less item: its JSON text. Throws for an item too deep to serialise. */
export const itemFingerprint = (item: unknown, fingerprint: Fingerprint): string =>
  `fp-${fingerprint(JSON.stringify(item) ?? 'undefined')}`;

/** Refuses a body with more items than one statement should carry: `base` plus the arrays `lists` names in each holder. */
export function checkItemCount(holders: readonly Json[], lists: readonly string[], base = 0): void {
  let total = base;
  for (const holder of holders) {
    for (const list of lists) {
      const items = holder[list];
      if (Array.isArray(items)) total += items.length;
    }
    if (total > MAX_EVENTS_PER_BODY) throw new MalformedEnvelopeError('too_many_events');
  }
}

/** Meta sends seconds in some fields and milliseconds in others, sometimes as strings. */
export function normaliseTimestamp(value: unknown): Date | null {
  const numeric = typeof value === 'string' && /^\d+(\.\d+)?$/.test(value.trim()) ? Number(value) : value;
  if (typeof numeric !== 'number' || !Number.isFinite(numeric) || numeric <= 0) return null;
  const millis = numeric < 1e12 ? numeric * 1000 : numeric;
  const date = new Date(Math.round(millis));
  return Number.isNaN(date.getTime()) ? null : date;
}

/**
 * Something that may be an integer of 16 digits or more (2^53 has 16): a cheap test of the raw text that
 * also matches inside strings. Only a body that passes it pays for the lossless reader; a false positive
 * costs time, never correctness.
 */
const MAYBE_UNSAFE_INTEGER = /[:,[]\s*-?\d{16}/;
const INTEGER_LITERAL = /^-?\d+$/;

/**
 * Reads a webhook body as JSON, losing nothing that tells ids apart: integers beyond 2^53 stay exact
 * (as digit strings), and each byte of invalid UTF-8 stays distinct (see decodeBody). `__proto__` keys
 * become ordinary properties, as with JSON.parse. Throws MalformedEnvelopeError when it is not JSON.
 */
export function readJsonBody(rawBody: Buffer): unknown {
  const text = decodeBody(rawBody);
  if (!MAYBE_UNSAFE_INTEGER.test(text)) {
    try {
      return JSON.parse(text);
    } catch {
      throw new MalformedEnvelopeError('invalid_json');
    }
  }
  try {
    return parseLosslessly(text, null, {
      parseNumber: (digits) => {
        const number = Number(digits);
        return Number.isSafeInteger(number) || !INTEGER_LITERAL.test(digits) ? number : digits;
      },
      // JSON.parse keeps the last of repeated keys; so does this reader.
      onDuplicateKey: ({ newValue }) => newValue,
    });
  } catch (error) {
    // The lossless reader recurses: a body thousands of levels deep overflows its stack.
    throw new MalformedEnvelopeError(error instanceof RangeError ? 'too_deep' : 'invalid_json');
  }
}

/**
 * UTF-8 text of the body. Invalid bytes would all decode to U+FFFD, so two ids differing only in
 * them would meet: each invalid byte becomes instead the JSON escape of its own lone surrogate
 * (U+DC80–U+DCFF, as Python's surrogateescape), which stays distinct and is cleaned out of columns.
 * Outside a string such an escape is not JSON, as the byte was not.
 */
export function decodeBody(rawBody: Buffer): string {
  if (isUtf8(rawBody)) return rawBody.toString('utf8');
  const out: number[] = [];
  const chunks: string[] = [];
  const flush = () => {
    chunks.push(Buffer.from(out).toString('utf8'));
    out.length = 0;
  };
  for (let i = 0; i < rawBody.length;) {
    const length = validSequenceLength(rawBody, i);
    if (length > 0) {
      for (let k = 0; k < length; k++) out.push(rawBody[i + k]);
      i += length;
    } else {
      for (const char of `\\udc${rawBody[i].toString(16).padStart(2, '0')}`) out.push(char.charCodeAt(0));
      i += 1;
    }
    if (out.length >= 65_536) flush();
  }
  flush();
  return chunks.join('');
}

/** The length of the well-formed UTF-8 sequence at `i` (RFC 3629), or 0 when the byte there starts none. */
function validSequenceLength(bytes: Buffer, i: number): number {
  const b0 = bytes[i];
  if (b0 < 0x80) return 1;
  const cont = (k: number, low = 0x80, high = 0xbf) =>
    i + k < bytes.length && bytes[i + k] >= low && bytes[i + k] <= high;
  if (b0 >= 0xc2 && b0 <= 0xdf) return cont(1) ? 2 : 0;
  if (b0 >= 0xe0 && b0 <= 0xef) {
    const low = b0 === 0xe0 ? 0xa0 : 0x80;
    const high = b0 === 0xed ? 0x9f : 0xbf;
    return cont(1, low, high) && cont(2) ? 3 : 0;
  }
  if (b0 >= 0xf0 && b0 <= 0xf4) {
    const low = b0 === 0xf0 ? 0x90 : 0x80;
    const high = b0 === 0xf4 ? 0x8f : 0xbf;
    return cont(1, low, high) && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

/**
 * The payload of a body's only event, for an event stored without a copy of its own (its receipt's sealed
 * body is its payload): the body read again as it was at ingest. Null when it does not yield exactly one.
 */
export function payloadOfOnlyEvent(
  provider: { parse(body: unknown, fingerprint: Fingerprint): { events: readonly { payload: unknown }[] } },
  rawBody: Buffer,
  fingerprint: Fingerprint,
): unknown {
  const envelope = provider.parse(readJsonBody(rawBody), fingerprint);
  return envelope.events.length === 1 ? envelope.events[0].payload : null;
}
