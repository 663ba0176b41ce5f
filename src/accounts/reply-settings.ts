import { businessHoursProblem, timezoneProblem } from '../platform/time/business-hours';
import { AutoReplySettings, BusinessHours, WEEKDAYS } from './account';

/** The Instagram and Messenger Send APIs take at most 1000 characters of text. */
export const MAX_REPLY_TEXT = 1000;
const AUTO_REPLY_FIELDS = new Set(['enabled', 'text', 'afterHoursText']);

export { businessHoursProblem, timezoneProblem };

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
