import { DynamicModule, Module } from '@nestjs/common';
import { PortBinding } from '../platform/ports';
import { ProvidersModule } from '../providers/providers.module';
import { AccountNotices } from './account-notices.port';
import { AccountDirectory } from './account-directory';
import { AccountRepository } from './account.repository';
import { AccountService } from './account.service';
import { AccountTokens } from './account-tokens';
import { AccountReplySettings } from './account-reply-settings';
import { TokenRefresher } from './token-refresher';

/** Who the accounts room tells what, bound once by the composition (app.module.ts). */
export interface AccountPorts {
  notices: PortBinding<AccountNotices>;
}

/** Reading accounts and their tokens: what the send path, health and metrics need (no ports). */
@Module({
  providers: [AccountRepository, AccountTokens, AccountReplySettings, AccountDirectory],
  exports: [AccountRepository, AccountTokens, AccountReplySettings, AccountDirectory],
})
export class AccountStoreModule {}

/** Managing accounts: the operators' changes, a refused token, and the token refresh. */
@Module({})
export class AccountsModule {
  static register(ports: AccountPorts): DynamicModule {
    return {
      module: AccountsModule,
      imports: [AccountStoreModule, ProvidersModule, ports.notices.module],
      providers: [AccountService, TokenRefresher, { provide: AccountNotices, useExisting: ports.notices.use }],
      exports: [AccountStoreModule, AccountService, TokenRefresher],
    };
  }
}
