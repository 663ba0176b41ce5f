import { Provider } from '../providers/channel-provider';

/** Meta's account ids (digits in practice): letters, digits and `_ . : -`, at most 100. */
export const ACCOUNT_ID_PATTERN = /^[A-Za-z0-9_.:-]{1,100}$/;
/** Meta tokens are long printable strings without spaces. */
export const ACCESS_TOKEN_PATTERN = /^[\x21-\x7e]{8,4096}$/;

/** `needs_token`: the Graph API refused the token (code 190, 401); `paused`: an operator paused the account. */
export const ACCOUNT_STATUSES = ['active', 'paused', 'needs_token'] as const;
export type AccountStatus = (typeof ACCOUNT_STATUSES)[number];

/** Why an account's sends wait: the status that holds them. */
export type HoldReason = Exclude<AccountStatus, 'active'>;

import type { BusinessHours } from '../platform/time/business-hours';

export { WEEKDAYS } from '../platform/time/business-hours';
export type { BusinessHours, Weekday } from '../platform/time/business-hours';

/** The account's auto-reply: off, or its own texts (an empty `afterHoursText`: no reply after hours). */
export interface AutoReplySettings {
  enabled?: boolean;
  text?: string;
  afterHoursText?: string;
}

/** The account's reply settings; unset ones follow the environment (BUSINESS_TIMEZONE, AUTO_REPLY_TEXT, …). */
export interface ReplySettings {
  timezone: string | null;
  businessHours: BusinessHours | null;
  autoReply: AutoReplySettings | null;
}

/** One row of the accounts table, as the rooms above see it (never its token). */
export interface Account extends ReplySettings {
  provider: Provider;
  /** The id Meta puts in `entry[].id` and `recipient.id`: Instagram account, Page, or WhatsApp phone number id. */
  accountId: string;
  displayName: string | null;
  status: AccountStatus;
  /** False for a row written when the provider's environment token failed: it still sends with that token. */
  hasToken: boolean;
  tokenVersion: number;
  tokenExpiresAt: Date | null;
  tokenRefreshedAt: Date | null;
  pausedAt: Date | null;
  pausedBy: string | null;
  needsTokenSince: Date | null;
  createdAt: Date;
  updatedAt: Date;
}
