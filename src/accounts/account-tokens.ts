import { Injectable } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { DataCipher, RowBinding, sealedIn } from '../platform/crypto/data-cipher';
import { AccountRepository } from './account.repository';

/** The token a send uses: the account's own, or none (the provider's environment token) with version 0. */
export interface AccountCredential {
  accessToken: string | undefined;
  /** Which token it is: a refusal names the version, so a token replaced meanwhile is not blamed. */
  version: number;
}

/** How an account token is kept: sealed with the data cipher. Sealing and opening live here only. */
export function sealToken(cipher: DataCipher, provider: string, accountId: string, token: string): Buffer {
  return cipher.encrypt(token, accountTokenIn(provider, accountId));
}

export function openToken(cipher: DataCipher, provider: string, accountId: string, sealed: Buffer): string {
  return cipher.decryptText(sealed, accountTokenIn(provider, accountId));
}

/** An account's row is named by its provider and account id (its primary key). */
export function accountTokenIn(provider: string, accountId: string): RowBinding {
  return sealedIn('accounts.token', `${provider}:${accountId}`);
}

/** Accounts are few (a clinic has a handful): this bounds memory, not the hit rate. */
const MAX_ACCOUNTS = 1000;
/**
 * How long another process may keep using a replaced token. This process forgets at once (PATCH, refresh,
 * refusal); elsewhere a send with a replaced token that Meta refuses is retried with the new one, not held.
 */
export const TOKEN_CACHE_TTL_MS = 30_000;

/**
 * Opened tokens for the send path, so a reply pays neither a query nor a decryption: a bounded LRU with a
 * short time to live. Concurrent sends of one account share one load.
 */
@Injectable()
export class AccountTokens {
  private readonly cache: LRUCache<string, AccountCredential, { provider: string; accountId: string }>;

  constructor(repository: AccountRepository, cipher: DataCipher) {
    this.cache = new LRUCache({
      max: MAX_ACCOUNTS,
      ttl: TOKEN_CACHE_TTL_MS,
      fetchMethod: async (_key, _stale, { context }) => {
        const row = await repository.token(context.provider, context.accountId);
        return {
          accessToken: row?.sealed ? openToken(cipher, context.provider, context.accountId, row.sealed) : undefined,
          version: row?.version ?? 0,
        };
      },
    });
  }

  async credentialFor(provider: string, accountId: string): Promise<AccountCredential> {
    const credential = await this.cache.fetch(key(provider, accountId), { context: { provider, accountId } });
    if (!credential) throw new Error('account token could not be loaded');
    return credential;
  }

  /** The account's token changed, or was refused: the next send loads it again. */
  forget(provider: string, accountId: string): void {
    this.cache.delete(key(provider, accountId));
  }
}

function key(provider: string, accountId: string): string {
  return `${provider}\u0000${accountId}`;
}
