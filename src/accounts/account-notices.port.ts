/** The Graph API refused an account's token: its sends are held until a new token is set. Ids only. */
export interface NeedsTokenNotice {
  provider: string;
  accountId: string;
  /** When the incident began: one notice per incident. */
  since: Date;
  correlationId: string | null;
}

/** Meta refused to refresh an account's token. Ids and categories only. */
export interface TokenRefreshFailedNotice {
  provider: string;
  accountId: string;
  category: string;
  /** The token that could not be refreshed: one notice per token, however many times it is retried. */
  tokenVersion: number;
  tokenExpiresAt: Date | null;
}

/**
 * Tells operators (as operational events) what happened to an account. The accounts room decides when;
 * outbound publishes (it sits above); the composition binds it. Never rejects.
 */
export abstract class AccountNotices {
  abstract needsToken(notice: NeedsTokenNotice): Promise<void>;
  abstract tokenRefreshFailed(notice: TokenRefreshFailedNotice): Promise<void>;
}
