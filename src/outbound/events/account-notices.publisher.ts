import { Injectable, Logger } from '@nestjs/common';
import { AccountNotices, NeedsTokenNotice, TokenRefreshFailedNotice } from '../../accounts/account-notices.port';
import { PRIORITIES } from '../delivery/priority';
import { OutboundEventType } from './event-types';
import { OutboundEventPublisher } from './outbound-event.publisher';

/** What happened to an account, as operational events through the outbound system itself. Ids and counts only. */
@Injectable()
export class AccountNoticesPublisher extends AccountNotices {
  private readonly logger = new Logger(AccountNoticesPublisher.name);

  constructor(private readonly publisher: OutboundEventPublisher) {
    super();
  }

  needsToken(notice: NeedsTokenNotice): Promise<void> {
    return this.publish(
      OutboundEventType.AccountNeedsToken,
      { provider: notice.provider, accountId: notice.accountId, since: notice.since.toISOString() },
      `${notice.provider}:${notice.accountId}:${notice.since.getTime()}`,
      notice.correlationId,
    );
  }

  tokenRefreshFailed(notice: TokenRefreshFailedNotice): Promise<void> {
    return this.publish(
      OutboundEventType.AccountTokenRefreshFailed,
      {
        provider: notice.provider,
        accountId: notice.accountId,
        category: notice.category,
        tokenExpiresAt: notice.tokenExpiresAt?.toISOString() ?? null,
      },
      `${notice.provider}:${notice.accountId}:${notice.tokenVersion}`,
      null,
    );
  }

  /** The one door both notices leave by; the idempotency key makes each incident one event. */
  private async publish(
    eventType: string,
    data: Record<string, unknown>,
    incident: string,
    correlationId: string | null,
  ): Promise<void> {
    await this.publisher
      .publish({
        eventType,
        data,
        publisher: 'system',
        priority: PRIORITIES.high,
        idempotencyKey: `${eventType}:${incident}`,
        correlationId,
      })
      .then(
        () => undefined,
        (error: unknown) =>
          this.logger.warn({ msg: 'could not publish an account notice', eventType, error: (error as Error)?.name }),
      );
  }
}
