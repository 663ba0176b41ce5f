import { Injectable } from '@nestjs/common';
import { Account } from './account';
import { AccountError } from './account.errors';
import { AccountRepository } from './account.repository';

/** The accounts as the rooms above read them (the admin listing, health, metrics). */
@Injectable()
export class AccountDirectory {
  constructor(private readonly repository: AccountRepository) {}

  list(): Promise<Account[]> {
    return this.repository.list();
  }

  /** AccountError `not_found` when there is no such account. */
  async get(provider: string, accountId: string): Promise<Account> {
    const account = await this.repository.find(provider, accountId);
    if (!account) throw new AccountError('not_found', 'no such account');
    return account;
  }
}
