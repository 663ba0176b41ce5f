import { Injectable } from '@nestjs/common';
import { ReplySettings } from '../../accounts/account';
import { AccountReplySettings } from '../../accounts/account-reply-settings';
import { AppConfig } from '../../platform/config/app-config';
import { isOpen } from '../../platform/time/business-hours';

/** Meta's standard messaging window: a reply within 24 h of the patient's last message. */
export const MESSAGING_WINDOW_MS = 24 * 3600 * 1000;
/** With the HUMAN_AGENT tag (Instagram, Messenger), a person may answer for 7 days. */
export const HUMAN_AGENT_WINDOW_MS = 7 * 24 * 3600 * 1000;

/** Providers whose Send API takes the HUMAN_AGENT tag (WhatsApp has its own 24 h rule and templates). */
export const HUMAN_AGENT_PROVIDERS: readonly string[] = ['instagram', 'facebook'];

/**
 * Meta's window at `at` for a conversation whose patient last wrote at `patientAt` (server time): open
 * (`replyable`), open only to a person with the HUMAN_AGENT tag (`human_agent`), or closed.
 */
export function replyWindow(
  provider: string,
  patientAt: Date | null,
  at: Date,
): 'replyable' | 'human_agent' | 'window_closed' {
  if (!patientAt) return 'window_closed';
  const age = at.getTime() - patientAt.getTime();
  if (age < MESSAGING_WINDOW_MS) return 'replyable';
  if (age < HUMAN_AGENT_WINDOW_MS && HUMAN_AGENT_PROVIDERS.includes(provider)) return 'human_agent';
  return 'window_closed';
}

/**
 * Which auto-reply the account's hours call for now: `in_hours`, `after_hours`, none after hours
 * (`after_hours_disabled`: an empty after-hours text), or none at all (`disabled`: the account turned it off).
 */
export type ReplyTextKind = 'in_hours' | 'after_hours' | 'after_hours_disabled' | 'disabled';

export interface ReplyChoice {
  kind: ReplyTextKind;
  /** The text to send; null for the kinds that send nothing. */
  text: string | null;
  /** The account's (or the environment's) in-hours text, whatever the hours now. */
  inHoursText: string;
}

/** Picks the auto-reply text for an account at an instant (pure: the settings and the environment's defaults). */
export function chooseReply(settings: ReplySettings, defaults: AppConfig['autoReply'], at: Date): ReplyChoice {
  const own = settings.autoReply ?? {};
  const text = own.text ?? defaults.text;
  if (own.enabled === false) return { kind: 'disabled', text: null, inHoursText: text };
  const open = isOpen(settings.businessHours ?? defaults.businessHours, settings.timezone ?? defaults.timezone, at);
  if (open) return { kind: 'in_hours', text, inHoursText: text };
  const afterHours = own.afterHoursText ?? defaults.afterHoursText ?? text;
  return afterHours === ''
    ? { kind: 'after_hours_disabled', text: null, inHoursText: text }
    : { kind: 'after_hours', text: afterHours, inHoursText: text };
}

/** The auto-reply an account's settings (or the environment's) call for at an instant. */
@Injectable()
export class ReplyPolicy {
  constructor(
    private readonly config: AppConfig,
    private readonly settings: AccountReplySettings,
  ) {}

  async choose(provider: string, accountId: string, at: Date): Promise<ReplyChoice> {
    return chooseReply(await this.settings.of(provider, accountId), this.config.autoReply, at);
  }
}
