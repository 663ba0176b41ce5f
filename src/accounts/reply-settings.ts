import { AutoReplySettings, BusinessHours, WEEKDAYS } from './account';

/** The Instagram and Messenger Send APIs take at most 1000 characters of text. */
export const MAX_REPLY_TEXT = 1000;
const ZONE_NAME = /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/;
const INTERVAL = /^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$/;
const AUTO_REPLY_FIELDS = new Set(['enabled', 'text', 'afterHoursText']);

/*
 * Each check returns what is wrong (naming the field, never quoting the value) or null. Issue-by-issue
 * checks rather than a schema library: the messages are what an operator reads in the 400.
 */

/** An IANA time zone name that this Node's Intl knows, e.g. `Europe/Lisbon` or `UTC`. */
export function timezoneProblem(value: unknown): string | null {
  if (typeof value !== 'string' || value.length > 64 || !ZONE_NAME.test(value)) {
    return 'timezone must be an IANA time zone name, e.g. Europe/Lisbon';
  }
  try {
    new Intl.DateTimeFormat('en', { timeZone: value });
    return null;
  } catch {
    return 'timezone is not a time zone this server knows (an IANA name, e.g. Europe/Lisbon)';
  }
}

/** `{"mon":["09:00-13:00","14:00-18:00"],"sat":["09:00-12:00"]}`: weekdays, each with ordered, non-overlapping intervals. */
export function businessHoursProblem(value: unknown): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return 'businessHours must be an object of weekdays, e.g. {"mon":["09:00-13:00","14:00-18:00"]}';
  }
  for (const [day, intervals] of Object.entries(value as Record<string, unknown>)) {
    if (!(WEEKDAYS as readonly string[]).includes(day)) {
      return `businessHours may name the days ${WEEKDAYS.join(', ')} only`;
    }
    if (!Array.isArray(intervals) || intervals.length > 12) {
      return `businessHours.${day} must be a list of at most 12 "HH:MM-HH:MM" intervals`;
    }
    let previousEnd = -1;
    for (const [index, interval] of intervals.entries()) {
      const match = typeof interval === 'string' ? INTERVAL.exec(interval) : null;
      const start = match ? Number(match[1]) * 60 + Number(match[2]) : NaN;
      const end = match ? Number(match[3]) * 60 + Number(match[4]) : NaN;
      if (!match || end > 24 * 60 || start >= end) {
        return `businessHours.${day}[${index}] must be "HH:MM-HH:MM" with the start before the end (24:00 at most)`;
      }
      if (start < previousEnd) return `businessHours.${day}[${index}] overlaps or precedes the interval before it`;
      previousEnd = end;
    }
  }
  return null;
}

/** `{enabled?, text?, afterHoursText?}`: a boolean and texts of at most MAX_REPLY_TEXT characters. */
export function autoReplyProblem(value: unknown): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return 'autoReply must be an object {enabled, text, afterHoursText}';
  }
  const settings = value as Record<string, unknown>;
  const unknown = Object.keys(settings).find((key) => !AUTO_REPLY_FIELDS.has(key));
  if (unknown !== undefined) return 'autoReply may hold enabled, text and afterHoursText only';
  if (settings.enabled !== undefined && typeof settings.enabled !== 'boolean') {
    return 'autoReply.enabled must be true or false';
  }
  if (settings.text !== undefined && !isReplyText(settings.text, false)) {
    return `autoReply.text must be a text of 1 to ${MAX_REPLY_TEXT} characters`;
  }
  if (settings.afterHoursText !== undefined && !isReplyText(settings.afterHoursText, true)) {
    return `autoReply.afterHoursText must be a text of at most ${MAX_REPLY_TEXT} characters (empty: no reply after hours)`;
  }
  return null;
}

function isReplyText(value: unknown, emptyAllowed: boolean): boolean {
  return typeof value === 'string' && value.length <= MAX_REPLY_TEXT && (emptyAllowed || value.trim().length > 0);
}

/** The checked settings in the stored shape (known keys only, in a stable order). */
export function normaliseBusinessHours(value: BusinessHours): BusinessHours {
  return Object.fromEntries(WEEKDAYS.filter((day) => value[day] !== undefined).map((day) => [day, value[day]]));
}

export function normaliseAutoReply(value: AutoReplySettings): AutoReplySettings {
  const { enabled, text, afterHoursText } = value;
  return JSON.parse(JSON.stringify({ enabled, text, afterHoursText })) as AutoReplySettings;
}
