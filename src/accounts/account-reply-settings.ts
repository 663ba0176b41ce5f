import { Injectable } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { ReplySettings } from './account';
import { AccountRepository } from './account.repository';

const MAX_ACCOUNTS = 1000;
/** How long another process may decide with an account's old settings; this process forgets at once. */
export const REPLY_SETTINGS_TTL_MS = 30_000;

const NONE: ReplySettings = { timezone: null, businessHours: null, autoReply: null };

/** An account's reply settings for the reply decision, cached like its token: no query per message. */
@Injectable()
export class AccountReplySettings {
  private readonly cache: LRUCache<string, ReplySettings, { provider: string; accountId: string }>;

  constructor(repository: AccountRepository) {
    this.cache = new LRUCache({
      max: MAX_ACCOUNTS,
      ttl: REPLY_SETTINGS_TTL_MS,
      fetchMethod: async (_key, _stale, { context }) =>
        (await repository.find(context.provider, context.accountId)) ?? NONE,
    });
  }

  /** The account's settings (all null for an account that is not in the table). */
  async of(provider: string, accountId: string): Promise<ReplySettings> {
    const found = await this.cache.fetch(`${provider}\u0000${accountId}`, { context: { provider, accountId } });
    const { timezone, businessHours, autoReply } = found ?? NONE;
    return { timezone, businessHours, autoReply };
  }

  forget(provider: string, accountId: string): void {
    this.cache.delete(`${provider}\u0000${accountId}`);
  }
}
