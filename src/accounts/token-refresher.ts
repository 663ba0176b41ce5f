import { Injectable, Logger } from '@nestjs/common';
import { AuditAction } from '../audit/audit-actions';
import { AuditService } from '../audit/audit.service';
import { Clock } from '../platform/clock';
import { AppConfig } from '../platform/config/app-config';
import { DataCipher } from '../platform/crypto/data-cipher';
import { classifyUnexpected } from '../platform/failure';
import { MetricsService } from '../platform/metrics/metrics.service';
import { InstagramTokenClient } from '../providers/instagram/instagram-token.client';
import { Account } from './account';
import { AccountDirectory } from './account-directory';
import { AccountError } from './account.errors';
import { AccountRepository } from './account.repository';
import { AccountNotices } from './account-notices.port';
import { AccountTokens, openToken, sealToken } from './account-tokens';

const DAY_MS = 24 * 3600 * 1000;

export interface RefreshRun {
  due: number;
  refreshed: number;
  failed: number;
}

/**
 * Keeps Instagram long-lived tokens alive: each one with an expiry is refreshed TOKEN_REFRESH_BEFORE_DAYS
 * before it (the daily maintenance job), or when an operator asks. A refusal leaves the account as it was
 * (its token still works until it expires): audited, counted, and raised once per token as an operational event.
 */
@Injectable()
export class TokenRefresher {
  private readonly logger = new Logger(TokenRefresher.name);

  constructor(
    private readonly config: AppConfig,
    private readonly clock: Clock,
    private readonly repository: AccountRepository,
    private readonly directory: AccountDirectory,
    private readonly tokens: AccountTokens,
    private readonly cipher: DataCipher,
    private readonly client: InstagramTokenClient,
    private readonly audit: AuditService,
    private readonly metrics: MetricsService,
    private readonly notices: AccountNotices,
  ) {}

  /** Refreshes every token that is due, one after the other (accounts are few). */
  async refreshDue(actor = 'system'): Promise<RefreshRun> {
    const before = new Date(this.clock.now().getTime() + this.config.accounts.refreshBeforeDays * DAY_MS);
    const due = await this.repository.dueForRefresh(before);
    const run: RefreshRun = { due: due.length, refreshed: 0, failed: 0 };
    for (const { provider, accountId } of due) {
      try {
        await this.refresh(provider, accountId, actor);
        run.refreshed += 1;
      } catch {
        run.failed += 1;
      }
    }
    if (due.length > 0) this.logger.log({ msg: 'account tokens refreshed', ...run });
    return run;
  }

  /** Refreshes one account's token now; AccountError `refresh_failed` when Meta refuses. */
  async refresh(provider: string, accountId: string, actor: string, correlationId: string | null = null) {
    const account = await this.directory.get(provider, accountId);
    if (provider !== 'instagram') {
      throw new AccountError(
        'conflict',
        'only Instagram tokens are refreshed (Page and WhatsApp tokens do not expire this way)',
      );
    }
    const stored = await this.repository.token(provider, accountId);
    if (!stored?.sealed) {
      throw new AccountError('conflict', 'this account uses the environment token: set a token of its own first');
    }
    let refreshed;
    try {
      refreshed = await this.client.refresh(openToken(this.cipher, provider, accountId, stored.sealed));
    } catch (error) {
      const failure = classifyUnexpected(error);
      await this.failed(account, stored.version, failure.category, failure.httpStatus ?? null, actor, correlationId);
      throw new AccountError('refresh_failed', `Meta did not refresh the token (${failure.category})`);
    }
    const now = this.clock.now();
    const expiresAt = refreshed.expiresInSeconds ? new Date(now.getTime() + refreshed.expiresInSeconds * 1000) : null;
    const updated = await this.repository.storeRefreshedToken(
      provider,
      accountId,
      stored.version,
      { sealed: sealToken(this.cipher, provider, accountId, refreshed.accessToken), expiresAt, refreshedAt: now },
      {
        action: AuditAction.AccountTokenRefreshed,
        outcome: 'success',
        actor,
        correlationId,
        metadata: { tokenExpiresAt: expiresAt?.toISOString() ?? null },
      },
    );
    if (!updated) throw new AccountError('conflict', 'the token was replaced while it was being refreshed');
    this.tokens.forget(provider, accountId);
    return updated;
  }

  private async failed(
    account: Account,
    tokenVersion: number,
    category: string,
    httpStatus: number | null,
    actor: string,
    correlationId: string | null,
  ): Promise<void> {
    this.metrics.accountTokenRefreshFailures.inc({ provider: account.provider, category });
    this.logger.warn({
      msg: 'an account token could not be refreshed',
      provider: account.provider,
      accountId: account.accountId,
      category,
      httpStatus,
    });
    await this.audit
      .record({
        action: AuditAction.AccountTokenRefreshFailed,
        outcome: 'failure',
        provider: account.provider,
        actor,
        correlationId,
        metadata: { accountId: account.accountId, category, httpStatus, tokenVersion },
      })
      .catch(() => undefined);
    await this.notices.tokenRefreshFailed({
      provider: account.provider,
      accountId: account.accountId,
      category,
      tokenVersion,
      tokenExpiresAt: account.tokenExpiresAt,
    });
  }
}
