import { SealedColumn } from '../platform/crypto/sealed-column';

/** SQL for reading the accounts table inside other rooms' statements, the accounts room being its only author. */

/**
 * Why the account's sends are held (`paused`, `needs_token`), or NULL when it may send; `provider` and
 * `accountId` are SQL expressions. An account not in the table is never held (it sends with the environment token).
 */
export function accountHold(provider: string, accountId: string): string {
  return `(SELECT a.status FROM accounts a
            WHERE a.provider = ${provider} AND a.account_id = ${accountId} AND a.status <> 'active')`;
}

/** Account tokens, bound to `provider:accountId`, for re-encryption. The token does not change: no version bump. */
export const accountSealedColumns: SealedColumn[] = [
  {
    field: 'accounts.token',
    table: 'accounts',
    column: 'token_sealed',
    key: `t.provider || ':' || t.account_id`,
    keyType: 'text',
    rowId: `t.provider || ':' || t.account_id`,
    array: false,
    reseal: `UPDATE accounts t SET token_sealed = u.new FROM unnest($1::text[], $2::bytea[], $3::bytea[]) AS u(id, old, new)
              WHERE t.provider || ':' || t.account_id = u.id AND t.token_sealed = u.old`,
  },
];
