/** SQL for reading the accounts table inside other rooms' statements, the accounts room being its only author. */

/**
 * Why the account's sends are held (`paused`, `needs_token`), or NULL when it may send; `provider` and
 * `accountId` are SQL expressions. An account not in the table is never held (it sends with the environment token).
 */
export function accountHold(provider: string, accountId: string): string {
  return `(SELECT a.status FROM accounts a
            WHERE a.provider = ${provider} AND a.account_id = ${accountId} AND a.status <> 'active')`;
}
