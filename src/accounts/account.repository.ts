import { Injectable } from '@nestjs/common';
import { AuditEntry } from '../audit/audit-actions';
import { auditRows, insertAudit } from '../audit/audit-sql';
import { Sql } from '../platform/database/sql';
import { Account, AutoReplySettings, BusinessHours } from './account';

/** An account's columns as `Account` (camelCase); `t` is the relation they are read from. */
function accountColumns(t: string): string {
  return `${t}.provider, ${t}.account_id AS "accountId", ${t}.display_name AS "displayName", ${t}.status,
          ${t}.token_sealed IS NOT NULL AS "hasToken", ${t}.token_version AS "tokenVersion",
          ${t}.token_expires_at AS "tokenExpiresAt", ${t}.token_refreshed_at AS "tokenRefreshedAt",
          ${t}.paused_at AS "pausedAt", ${t}.paused_by AS "pausedBy", ${t}.needs_token_since AS "needsTokenSince",
          ${t}.timezone, ${t}.business_hours AS "businessHours", ${t}.auto_reply AS "autoReply",
          ${t}.created_at AS "createdAt", ${t}.updated_at AS "updatedAt"`;
}

export interface NewAccount {
  provider: string;
  accountId: string;
  displayName: string | null;
  tokenSealed: Buffer;
  tokenExpiresAt: Date | null;
  timezone: string | null;
  businessHours: BusinessHours | null;
  autoReply: AutoReplySettings | null;
}

/** What a PATCH changes: undefined leaves a column as it is, null clears it. A new token is a new version. */
export interface AccountChanges {
  displayName?: string | null;
  tokenSealed?: Buffer;
  tokenExpiresAt?: Date | null;
  timezone?: string | null;
  businessHours?: BusinessHours | null;
  autoReply?: AutoReplySettings | null;
}

export interface SealedToken {
  sealed: Buffer | null;
  version: number;
}

export interface TokenIncident {
  /** Set when this call moved the account to `needs_token` (the incident's start); null when it already was. */
  startedAt: Date | null;
  /** The account's token version now: another than the rejected one means a new token was set meanwhile. */
  currentVersion: number;
}

/**
 * The accounts table. Every operator change is audited in the same statement (an entry only when a row
 * changed), and tokens come in sealed: this class never sees one in the clear.
 */
@Injectable()
export class AccountRepository {
  constructor(private readonly db: Sql) {}

  async list(): Promise<Account[]> {
    return this.db.query<Account>(`SELECT ${accountColumns('a')} FROM accounts a ORDER BY a.provider, a.account_id`);
  }

  async find(provider: string, accountId: string): Promise<Account | undefined> {
    return this.db.one<Account>(
      `SELECT ${accountColumns('a')} FROM accounts a WHERE a.provider = $1 AND a.account_id = $2`,
      [provider, accountId],
    );
  }

  async token(provider: string, accountId: string): Promise<SealedToken | undefined> {
    return this.db.one<SealedToken>(
      `SELECT token_sealed AS sealed, token_version AS version FROM accounts WHERE provider = $1 AND account_id = $2`,
      [provider, accountId],
    );
  }

  /**
   * A new account. A row written only because the environment token failed (no token of its own) takes the
   * new token and the settings; any other existing row is left alone (undefined: a conflict).
   */
  async create(account: NewAccount, audit: AuditEntry): Promise<Account | undefined> {
    return this.audited(
      `INSERT INTO accounts AS a (provider, account_id, display_name, token_sealed, token_version, token_expires_at,
                                 timezone, business_hours, auto_reply)
       VALUES ($1, $2, $3, $4, 1, $5, $6, $7, $8)
       ON CONFLICT (provider, account_id) DO UPDATE
          SET display_name = EXCLUDED.display_name, token_sealed = EXCLUDED.token_sealed,
              token_version = a.token_version + 1, token_expires_at = EXCLUDED.token_expires_at,
              needs_token_since = NULL, timezone = EXCLUDED.timezone, business_hours = EXCLUDED.business_hours,
              auto_reply = EXCLUDED.auto_reply, updated_at = now()
        WHERE a.token_sealed IS NULL`,
      [
        account.provider,
        account.accountId,
        account.displayName,
        account.tokenSealed,
        account.tokenExpiresAt,
        account.timezone,
        json(account.businessHours),
        json(account.autoReply),
      ],
      audit,
    );
  }

  /** Undefined when there is no such account. A new token clears `needs_token`. */
  async update(provider: string, accountId: string, changes: AccountChanges, audit: AuditEntry) {
    const values: unknown[] = [provider, accountId];
    const set: string[] = ['updated_at = now()'];
    const assign = (column: string, value: unknown) => {
      values.push(value);
      set.push(`${column} = $${values.length}`);
    };
    if (changes.displayName !== undefined) assign('display_name', changes.displayName);
    if (changes.tokenSealed !== undefined) {
      assign('token_sealed', changes.tokenSealed);
      set.push('token_version = a.token_version + 1', 'needs_token_since = NULL');
    }
    if (changes.tokenExpiresAt !== undefined) assign('token_expires_at', changes.tokenExpiresAt);
    if (changes.timezone !== undefined) assign('timezone', changes.timezone);
    if (changes.businessHours !== undefined) assign('business_hours', json(changes.businessHours));
    if (changes.autoReply !== undefined) assign('auto_reply', json(changes.autoReply));
    return this.audited(
      `UPDATE accounts a SET ${set.join(', ')} WHERE a.provider = $1 AND a.account_id = $2`,
      values,
      audit,
    );
  }

  async delete(provider: string, accountId: string, audit: AuditEntry): Promise<Account | undefined> {
    return this.audited(
      `DELETE FROM accounts a WHERE a.provider = $1 AND a.account_id = $2`,
      [provider, accountId],
      audit,
    );
  }

  /**
   * Pauses the account (keeping its first pause time and actor). An account not in the table gets a row
   * without a token of its own: it goes on sending with the environment token once resumed.
   */
  async pause(provider: string, accountId: string, actor: string, audit: AuditEntry): Promise<Account | undefined> {
    return this.audited(
      `INSERT INTO accounts AS a (provider, account_id, paused_at, paused_by) VALUES ($1, $2, now(), $3)
       ON CONFLICT (provider, account_id) DO UPDATE
          SET paused_at = coalesce(a.paused_at, now()), paused_by = coalesce(a.paused_by, $3), updated_at = now()`,
      [provider, accountId, actor],
      audit,
    );
  }

  /** Undefined when there is no such account. */
  async resume(provider: string, accountId: string, audit: AuditEntry): Promise<Account | undefined> {
    return this.audited(
      `UPDATE accounts a SET paused_at = NULL, paused_by = NULL, updated_at = now()
        WHERE a.provider = $1 AND a.account_id = $2`,
      [provider, accountId],
      audit,
    );
  }

  /**
   * The Graph API refused token `version` of the account: it needs a new one. A provider's environment token
   * (version 0, no row yet) gets a row to hold the state. Only the first of many concurrent refusals of
   * one token starts the incident (and is audited); a refusal of a token already replaced starts nothing.
   */
  async markNeedsToken(
    provider: string,
    accountId: string,
    version: number,
    audit: AuditEntry,
  ): Promise<TokenIncident> {
    const [row] = await this.db.query<{ started_at: Date | null; current_version: number }>(
      `WITH updated AS (
         UPDATE accounts a SET needs_token_since = now(), updated_at = now()
          WHERE a.provider = $1 AND a.account_id = $2 AND a.token_version = $3 AND a.needs_token_since IS NULL
         RETURNING a.provider, a.account_id, a.needs_token_since, a.token_version
       ), inserted AS (
         INSERT INTO accounts AS a (provider, account_id, needs_token_since)
         SELECT $1, $2, now()
          WHERE $3::int = 0 AND NOT EXISTS (SELECT 1 FROM accounts WHERE provider = $1 AND account_id = $2)
         ON CONFLICT (provider, account_id) DO UPDATE SET needs_token_since = now(), updated_at = now()
          WHERE a.token_version = $3 AND a.needs_token_since IS NULL
         RETURNING a.provider, a.account_id, a.needs_token_since, a.token_version
       ), marked AS (
         SELECT * FROM updated UNION ALL SELECT * FROM inserted
       ), audited AS (
         ${insertAudit(auditRows(auditValues(4), 'FROM marked changed'))}
       )
       SELECT (SELECT needs_token_since FROM marked) AS started_at,
              coalesce((SELECT token_version FROM marked),
                       (SELECT token_version FROM accounts WHERE provider = $1 AND account_id = $2), 0) AS current_version`,
      [provider, accountId, version, ...auditParamsOf(audit)],
    );
    return { startedAt: row?.started_at ?? null, currentVersion: row?.current_version ?? 0 };
  }

  /** Instagram accounts with a token of their own that expires before `before` and is not known to be bad. */
  async dueForRefresh(before: Date): Promise<Array<{ provider: string; accountId: string }>> {
    return this.db.query(
      `SELECT provider, account_id AS "accountId" FROM accounts
        WHERE provider = 'instagram' AND token_sealed IS NOT NULL AND token_expires_at <= $1
          AND needs_token_since IS NULL
        ORDER BY token_expires_at`,
      [before],
    );
  }

  /** Stores a refreshed token, unless another token was set meanwhile (undefined then). */
  async storeRefreshedToken(
    provider: string,
    accountId: string,
    refreshedVersion: number,
    refreshed: { sealed: Buffer; expiresAt: Date | null; refreshedAt: Date },
    audit: AuditEntry,
  ): Promise<Account | undefined> {
    return this.audited(
      `UPDATE accounts a
          SET token_sealed = $4, token_version = a.token_version + 1, token_expires_at = $5, token_refreshed_at = $6,
              needs_token_since = NULL, updated_at = now()
        WHERE a.provider = $1 AND a.account_id = $2 AND a.token_version = $3`,
      [provider, accountId, refreshedVersion, refreshed.sealed, refreshed.expiresAt, refreshed.refreshedAt],
      audit,
    );
  }

  /** One write (`change`, without RETURNING) with its audit entry, written only if a row changed. */
  private async audited(change: string, values: unknown[], audit: AuditEntry): Promise<Account | undefined> {
    const first = values.length + 1;
    const [row] = await this.db.query<Account>(
      `WITH changed AS (
         ${change}
         RETURNING a.*
       ), audited AS (
         ${insertAudit(auditRows(auditValues(first), 'FROM changed'))}
       )
       SELECT ${accountColumns('changed')} FROM changed`,
      [...values, ...auditParamsOf(audit)],
    );
    return row;
  }
}

/** The audit columns of an account change: the entry's fields from parameters `first`…, the account from `changed`. */
function auditValues(first: number) {
  const p = (offset: number) => `$${first + offset}`;
  return {
    action: `${p(0)}::text`,
    outcome: `${p(1)}::text`,
    provider: 'changed.provider',
    correlation_id: `${p(2)}::text`,
    actor: `${p(3)}::text`,
    metadata: `jsonb_build_object('accountId', changed.account_id) || ${p(4)}::jsonb`,
  };
}

function auditParamsOf(audit: AuditEntry): unknown[] {
  return [
    audit.action,
    audit.outcome,
    audit.correlationId ?? null,
    audit.actor ?? 'system',
    JSON.stringify(audit.metadata ?? {}),
  ];
}

function json(value: unknown): string | null {
  return value === null || value === undefined ? null : JSON.stringify(value);
}
