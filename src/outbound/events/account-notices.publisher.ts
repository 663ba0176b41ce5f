import { Injectable } from '@nestjs/common';
import { AccountNotices, NeedsTokenNotice, TokenRefreshFailedNotice } from '../../accounts/account-notices.port';
import { OperationalEventType } from '../../platform/operational-events/operational-events';
import { OperationalEventsPublisher } from './operational-events.publisher';

/** A day: an incident's key names its own occurrence (when the token went bad, which token failed to refresh). */
const INCIDENT_SECONDS = 24 * 3600;

/** What happened to an account, as operational events (ids and counts only), one per incident. */
@Injectable()
export class AccountNoticesPublisher extends AccountNotices {
  constructor(private readonly events: OperationalEventsPublisher) {
    super();
  }

  needsToken(notice: NeedsTokenNotice): Promise<void> {
    const { provider, accountId, since } = notice;
    return this.events.raise(
      { type: OperationalEventType.AccountNeedsToken, data: { provider, accountId, since: since.toISOString() } },
      {
        key: `account.needs_token:${provider}:${accountId}:${since.getTime()}`,
        forSeconds: INCIDENT_SECONDS,
        correlationId: notice.correlationId,
      },
    );
  }

  tokenRefreshFailed(notice: TokenRefreshFailedNotice): Promise<void> {
    const { provider, accountId, category } = notice;
    return this.events.raise(
      {
        type: OperationalEventType.AccountTokenRefreshFailed,
        data: { provider, accountId, category, tokenExpiresAt: notice.tokenExpiresAt?.toISOString() ?? null },
      },
      {
        key: `account.token_refresh_failed:${provider}:${accountId}:${notice.tokenVersion}`,
        forSeconds: INCIDENT_SECONDS,
      },
    );
  }
}
