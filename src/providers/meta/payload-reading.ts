/** Defensive reading of Meta's JSON: every field may be missing or of another type. */
export type Json = Record<string, unknown>;
export type { Fingerprint } from '../channel-provider';

export const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
export const idOf = (value: unknown): string | null =>
  typeof value === 'string' && value !== '' ? value : typeof value === 'number' ? String(value) : null;

/** Meta sends seconds in some fields and milliseconds in others, sometimes as strings. */
export function normaliseTimestamp(value: unknown): Date | null {
  const numeric = typeof value === 'string' && /^\d+(\.\d+)?$/.test(value.trim()) ? Number(value) : value;
  if (typeof numeric !== 'number' || !Number.isFinite(numeric) || numeric <= 0) return null;
  const millis = numeric < 1e12 ? numeric * 1000 : numeric;
  const date = new Date(Math.round(millis));
  return Number.isNaN(date.getTime()) ? null : date;
}
