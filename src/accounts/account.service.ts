import { Injectable, Logger } from '@nestjs/common';
import { AuditAction, AuditEntry } from '../audit/audit-actions';
import { DataCipher } from '../platform/crypto/data-cipher';
import { Account, AutoReplySettings, BusinessHours } from './account';
import { AccountError } from './account.errors';
import { AccountChanges, AccountRepository } from './account.repository';
import { AccountNotices } from './account-notices.port';
import { AccountCredential, AccountTokens, sealToken } from './account-tokens';
import { AccountReplySettings } from './account-reply-settings';
import { normaliseAutoReply, normaliseBusinessHours } from './reply-settings';

/** Who asks, as the audit log records it. */
export interface AccountActor {
  name: string;
  correlationId?: string | null;
}

export interface NewAccountInput {
  provider: string;
  accountId: string;
  accessToken: string;
  tokenExpiresAt?: Date | null;
  displayName?: string | null;
  timezone?: string | null;
  businessHours?: BusinessHours | null;
  autoReply?: AutoReplySettings | null;
}

export type AccountChangesInput = Partial<Omit<NewAccountInput, 'provider' | 'accountId'>>;

/** What a refused token means for the send that was refused. */
export type TokenRefusal = 'needs_token' | 'replaced';

/**
 * A clinic's accounts as ops manage them, and what the send path tells about their tokens. Tokens are sealed
 * here, on the way in, and never leave but through AccountTokens to the send path.
 */
@Injectable()
export class AccountService {
  private readonly logger = new Logger(AccountService.name);

  constructor(
    private readonly repository: AccountRepository,
    private readonly tokens: AccountTokens,
    private readonly cipher: DataCipher,
    private readonly notices: AccountNotices,
    private readonly settings: AccountReplySettings,
  ) {}

  async create(input: NewAccountInput, actor: AccountActor): Promise<Account> {
    const created = await this.repository.create(
      {
        provider: input.provider,
        accountId: input.accountId,
        displayName: input.displayName ?? null,
        tokenSealed: sealToken(this.cipher, input.provider, input.accountId, input.accessToken),
        tokenExpiresAt: input.tokenExpiresAt ?? null,
        timezone: input.timezone ?? null,
        businessHours: input.businessHours ? normaliseBusinessHours(input.businessHours) : null,
        autoReply: input.autoReply ? normaliseAutoReply(input.autoReply) : null,
      },
      entry(AuditAction.AccountCreated, actor, { tokenExpiresAt: input.tokenExpiresAt ?? null }),
    );
    if (!created) throw new AccountError('conflict', 'this account exists already: change it with PATCH');
    this.tokens.forget(input.provider, input.accountId);
    this.settings.forget(input.provider, input.accountId);
    return created;
  }

  /** A new token (without `tokenExpiresAt`: expiry unknown) clears `needs_token`. */
  async update(provider: string, accountId: string, input: AccountChangesInput, actor: AccountActor) {
    const changes: AccountChanges = {
      displayName: input.displayName,
      tokenSealed:
        input.accessToken === undefined ? undefined : sealToken(this.cipher, provider, accountId, input.accessToken),
      tokenExpiresAt: input.tokenExpiresAt ?? (input.accessToken === undefined ? undefined : null),
      timezone: input.timezone,
      businessHours: input.businessHours ? normaliseBusinessHours(input.businessHours) : input.businessHours,
      autoReply: input.autoReply ? normaliseAutoReply(input.autoReply) : input.autoReply,
    };
    // Field names only: the audit entry never holds the token or the texts.
    const fields = Object.keys(input).filter((field) => input[field as keyof AccountChangesInput] !== undefined);
    const updated = await this.repository.update(
      provider,
      accountId,
      changes,
      entry(AuditAction.AccountUpdated, actor, { fields, tokenChanged: input.accessToken !== undefined }),
    );
    if (input.accessToken !== undefined) this.tokens.forget(provider, accountId);
    this.settings.forget(provider, accountId);
    return found(updated);
  }

  /** The account's sends go back to the provider's environment token. */
  async remove(provider: string, accountId: string, actor: AccountActor): Promise<void> {
    found(await this.repository.delete(provider, accountId, entry(AuditAction.AccountDeleted, actor, {})));
    this.tokens.forget(provider, accountId);
    this.settings.forget(provider, accountId);
  }

  /** Holds the account's sends; its webhooks are still received, stored and audited. */
  async pause(provider: string, accountId: string, actor: AccountActor): Promise<Account> {
    return found(
      await this.repository.pause(provider, accountId, actor.name, entry(AuditAction.AccountPaused, actor, {})),
    );
  }

  /** The caller then releases the held sends (they are inbound's replies). */
  async resume(provider: string, accountId: string, actor: AccountActor): Promise<Account> {
    return found(await this.repository.resume(provider, accountId, entry(AuditAction.AccountResumed, actor, {})));
  }

  /**
   * The Graph API refused `credential` (code 190, or 401). The first refusal of a token moves the account
   * to `needs_token`, is audited and raises the operational event; `replaced`: a new token was set since
   * this one was read, so the send should simply be tried again.
   */
  async tokenRefused(
    provider: string,
    accountId: string,
    credential: AccountCredential,
    context: { correlationId: string | null; httpStatus: number | null },
  ): Promise<TokenRefusal> {
    this.tokens.forget(provider, accountId);
    const incident = await this.repository.markNeedsToken(
      provider,
      accountId,
      credential.version,
      entry(
        AuditAction.AccountNeedsToken,
        { name: 'system', correlationId: context.correlationId },
        { httpStatus: context.httpStatus, tokenSource: credential.accessToken ? 'account' : 'environment' },
        'failure',
      ),
    );
    if (incident.startedAt) {
      this.logger.warn({
        msg: 'the Graph API refused an account token: its sends are held until a new token is set',
        provider,
        accountId,
        correlationId: context.correlationId,
      });
      await this.notices.needsToken({
        provider,
        accountId,
        since: incident.startedAt,
        correlationId: context.correlationId,
      });
    }
    return incident.currentVersion === credential.version ? 'needs_token' : 'replaced';
  }
}

function found(account: Account | undefined): Account {
  if (!account) throw new AccountError('not_found', 'no such account');
  return account;
}

function entry(
  action: string,
  actor: AccountActor,
  metadata: Record<string, unknown>,
  outcome: AuditEntry['outcome'] = 'success',
): AuditEntry {
  return { action, outcome, actor: actor.name, correlationId: actor.correlationId ?? null, metadata };
}
