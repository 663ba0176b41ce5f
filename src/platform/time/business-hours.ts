/** Weekdays as business hours name them, Monday first. */
export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** Opening hours per weekday, e.g. `{"mon":["09:00-13:00","14:00-18:00"]}`; a day not listed is closed. */
export type BusinessHours = Partial<Record<Weekday, string[]>>;

const ZONE_NAME = /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/;
const INTERVAL = /^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$/;

/*
 * Each check returns what is wrong (naming the field, never quoting the value) or null: the same words serve
 * the boot error (BUSINESS_TIMEZONE, BUSINESS_HOURS) and an account's 400 (timezone, businessHours).
 */

/** An IANA time zone name that this Node's Intl knows, e.g. `Europe/Lisbon` or `UTC`. */
export function timezoneProblem(value: unknown, field = 'timezone'): string | null {
  if (typeof value !== 'string' || value.length > 64 || !ZONE_NAME.test(value)) {
    return `${field} must be an IANA time zone name, e.g. Europe/Lisbon`;
  }
  try {
    new Intl.DateTimeFormat('en', { timeZone: value });
    return null;
  } catch {
    return `${field} is not a time zone this server knows (an IANA name, e.g. Europe/Lisbon)`;
  }
}

/** `{"mon":["09:00-13:00","14:00-18:00"],"sat":["09:00-12:00"]}`: weekdays, each with ordered, non-overlapping intervals. */
export function businessHoursProblem(value: unknown, field = 'businessHours'): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return `${field} must be an object of weekdays, e.g. {"mon":["09:00-13:00","14:00-18:00"]}`;
  }
  for (const [day, intervals] of Object.entries(value as Record<string, unknown>)) {
    if (!(WEEKDAYS as readonly string[]).includes(day)) {
      return `${field} may name the days ${WEEKDAYS.join(', ')} only`;
    }
    if (!Array.isArray(intervals) || intervals.length > 12) {
      return `${field}.${day} must be a list of at most 12 "HH:MM-HH:MM" intervals`;
    }
    let previousEnd = -1;
    for (const [index, interval] of intervals.entries()) {
      const span = typeof interval === 'string' ? parseInterval(interval) : null;
      if (!span) {
        return `${field}.${day}[${index}] must be "HH:MM-HH:MM" with the start before the end (24:00 at most)`;
      }
      if (span.start < previousEnd) return `${field}.${day}[${index}] overlaps or precedes the interval before it`;
      previousEnd = span.end;
    }
  }
  return null;
}

/** Minutes since midnight of an interval's start and end, or null when it is not `HH:MM-HH:MM` (start < end ≤ 24:00). */
function parseInterval(interval: string): { start: number; end: number } | null {
  const match = INTERVAL.exec(interval);
  if (!match) return null;
  const start = Number(match[1]) * 60 + Number(match[2]);
  const end = Number(match[3]) * 60 + Number(match[4]);
  return end <= 24 * 60 && start < end ? { start, end } : null;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/**
 * The weekday and the minute of the day at `instant` on the wall clocks of `timeZone`, from the platform's
 * Intl time zone data: a daylight-saving change moves the wall clock, and so the hours, as the clinic sees them.
 */
export function localTime(instant: Date, timeZone: string): { day: Weekday; minute: number } {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    formatters.set(timeZone, formatter);
  }
  const parts = Object.fromEntries(formatter.formatToParts(instant).map((part) => [part.type, part.value]));
  const day = String(parts.weekday).slice(0, 3).toLowerCase() as Weekday;
  return { day, minute: (Number(parts.hour) % 24) * 60 + Number(parts.minute) };
}

/** Whether `instant` falls in the opening hours (`null`: always open) on the wall clocks of `timeZone`. */
export function isOpen(hours: BusinessHours | null, timeZone: string, instant: Date): boolean {
  if (!hours) return true;
  const { day, minute } = localTime(instant, timeZone);
  return (hours[day] ?? []).some((interval) => {
    const span = parseInterval(interval);
    return span !== null && minute >= span.start && minute < span.end;
  });
}
