import { Body, Controller, Delete, Get, HttpCode, Logger, Param, Patch, Post, UseFilters } from '@nestjs/common';
import { ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Account } from '../../accounts/account';
import { AccountDirectory } from '../../accounts/account-directory';
import { AccountErrorFilter } from '../../accounts/account.errors';
import { AccountActor, AccountService } from '../../accounts/account.service';
import { TokenRefresher } from '../../accounts/token-refresher';
import { HeldReplies } from '../../inbound/holds/held-replies';
import { Actor } from '../../platform/auth/api-key';
import { CurrentActor, Roles } from '../../platform/auth/roles.decorator';
import { AppConfig } from '../../platform/config/app-config';
import { AccountDto, AccountListDto, AccountParams, CreateAccountDto, UpdateAccountDto } from './account.dto';

/**
 * The clinic's accounts. A change that lets an account send again (resume, a new token, a refresh, a
 * deletion back to the environment token) releases its held replies at once, in the background; the
 * workers' sweeper finishes what this process does not.
 */
@ApiTags('accounts')
@Roles('ops')
@UseFilters(AccountErrorFilter)
@Controller('admin/accounts')
export class AccountsController {
  private readonly logger = new Logger(AccountsController.name);

  constructor(
    private readonly config: AppConfig,
    private readonly accounts: AccountService,
    private readonly directory: AccountDirectory,
    private readonly refresher: TokenRefresher,
    private readonly held: HeldReplies,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Every account, with its status, token expiry and held replies (never a token)' })
  @ApiOkResponse({ type: AccountListDto })
  async list(): Promise<AccountListDto> {
    const [accounts, held] = await Promise.all([this.directory.list(), this.heldCounts()]);
    return {
      items: accounts.map((account) => view(account, held.get(key(account.provider, account.accountId)) ?? 0)),
      environmentTokens: {
        instagram: Boolean(this.config.instagram.accessToken),
        facebook: Boolean(this.config.facebook.pageAccessToken),
        whatsapp: Boolean(this.config.whatsapp.accessToken),
      },
    };
  }

  @Post()
  @ApiOperation({ summary: 'Add an account with its own token (sealed at rest); audited' })
  @ApiCreatedResponse({ type: AccountDto })
  async create(@Body() body: CreateAccountDto, @CurrentActor() actor: Actor): Promise<AccountDto> {
    const account = await this.accounts.create(
      { ...body, tokenExpiresAt: dateOrNull(body.tokenExpiresAt) },
      actorOf(actor),
    );
    return this.viewReleasing(account);
  }

  @Get(':provider/:accountId')
  @ApiOkResponse({ type: AccountDto })
  async get(@Param() params: AccountParams): Promise<AccountDto> {
    return this.viewOf(await this.directory.get(params.provider, params.accountId));
  }

  @Patch(':provider/:accountId')
  @ApiOperation({ summary: 'Change an account; a new accessToken releases the replies held for a token. Audited' })
  @ApiOkResponse({ type: AccountDto })
  async update(
    @Param() params: AccountParams,
    @Body() body: UpdateAccountDto,
    @CurrentActor() actor: Actor,
  ): Promise<AccountDto> {
    const account = await this.accounts.update(
      params.provider,
      params.accountId,
      { ...body, tokenExpiresAt: body.tokenExpiresAt === undefined ? undefined : dateOrNull(body.tokenExpiresAt) },
      actorOf(actor),
    );
    return this.viewReleasing(account);
  }

  @Delete(':provider/:accountId')
  @HttpCode(204)
  @ApiOperation({ summary: 'Remove an account: its sends use the provider environment token again. Audited' })
  @ApiNoContentResponse()
  async remove(@Param() params: AccountParams, @CurrentActor() actor: Actor): Promise<void> {
    await this.accounts.remove(params.provider, params.accountId, actorOf(actor));
    this.release(params.provider, params.accountId);
  }

  @Post(':provider/:accountId/pause')
  @HttpCode(200)
  @ApiOperation({ summary: 'Hold the account’s sends (webhooks are still received, stored and audited). Audited' })
  @ApiOkResponse({ type: AccountDto })
  async pause(@Param() params: AccountParams, @CurrentActor() actor: Actor): Promise<AccountDto> {
    return this.viewOf(await this.accounts.pause(params.provider, params.accountId, actorOf(actor)));
  }

  @Post(':provider/:accountId/resume')
  @HttpCode(200)
  @ApiOperation({ summary: 'Send the held replies, once each, in arrival order, at the account’s pace. Audited' })
  @ApiOkResponse({ type: AccountDto })
  async resume(@Param() params: AccountParams, @CurrentActor() actor: Actor): Promise<AccountDto> {
    return this.viewReleasing(await this.accounts.resume(params.provider, params.accountId, actorOf(actor)));
  }

  @Post(':provider/:accountId/refresh-token')
  @HttpCode(200)
  @ApiOperation({ summary: 'Refresh an Instagram token now (502 when Meta refuses: audited, counted, raised)' })
  @ApiOkResponse({ type: AccountDto })
  async refreshToken(@Param() params: AccountParams, @CurrentActor() actor: Actor): Promise<AccountDto> {
    const account = await this.refresher.refresh(
      params.provider,
      params.accountId,
      actor.name,
      actor.correlationId ?? null,
    );
    return this.viewReleasing(account);
  }

  /** The account's view, after starting the release of what it held (when it may send now). */
  private async viewReleasing(account: Account): Promise<AccountDto> {
    const dto = await this.viewOf(account);
    if (account.status === 'active') this.release(account.provider, account.accountId);
    return dto;
  }

  private release(provider: string, accountId: string): void {
    void this.held
      .release(provider, accountId)
      .catch((error: unknown) =>
        this.logger.warn({
          msg: 'releasing held replies failed; the workers retry',
          provider,
          accountId,
          error: (error as Error)?.name,
        }),
      );
  }

  private async viewOf(account: Account): Promise<AccountDto> {
    const held = await this.heldCounts();
    return view(account, held.get(key(account.provider, account.accountId)) ?? 0);
  }

  private async heldCounts(): Promise<Map<string, number>> {
    const counts = await this.held.countsByAccount();
    return new Map(counts.map((count) => [key(count.provider, count.accountId), count.held]));
  }
}

function view(account: Account, heldReplies: number): AccountDto {
  return {
    provider: account.provider,
    accountId: account.accountId,
    displayName: account.displayName,
    status: account.status,
    tokenSource: account.hasToken ? 'account' : 'environment',
    tokenExpiresAt: account.tokenExpiresAt,
    tokenRefreshedAt: account.tokenRefreshedAt,
    timezone: account.timezone,
    businessHours: account.businessHours,
    autoReply: account.autoReply,
    heldReplies,
    pausedAt: account.pausedAt,
    pausedBy: account.pausedBy,
    needsTokenSince: account.needsTokenSince,
    createdAt: account.createdAt,
    updatedAt: account.updatedAt,
  };
}

function actorOf(actor: Actor): AccountActor {
  return { name: actor.name, correlationId: actor.correlationId ?? null };
}

function dateOrNull(value: string | null | undefined): Date | null {
  return value ? new Date(value) : null;
}

function key(provider: string, accountId: string): string {
  return `${provider}:${accountId}`;
}
