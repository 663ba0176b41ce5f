import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  IsDateString,
  IsIn,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
  registerDecorator,
  ValidateIf,
} from 'class-validator';
import {
  ACCESS_TOKEN_PATTERN,
  ACCOUNT_ID_PATTERN,
  ACCOUNT_STATUSES,
  AutoReplySettings,
  BusinessHours,
} from '../../accounts/account';
import { autoReplyProblem, businessHoursProblem, timezoneProblem } from '../../accounts/reply-settings';
import { PROVIDERS } from '../../providers/channel-provider';

const ACCOUNT_ID_MESSAGE = 'accountId may hold letters, digits and _ . : - only (at most 100)';
/** The message never quotes the value. */
const TOKEN_MESSAGE = 'accessToken must be 8 to 4096 printable characters without spaces';

/** A property checked by one of the reply-settings checks: the 400 names the field, never its value. */
function Satisfies(problem: (value: unknown) => string | null): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'satisfies',
      target: target.constructor,
      propertyName: String(propertyName),
      validator: {
        validate: (value: unknown) => problem(value) === null,
        defaultMessage: (args) => problem(args?.value) ?? `${String(propertyName)} is not valid`,
      },
    });
}

export class AccountParams {
  @ApiProperty({ enum: PROVIDERS, example: 'instagram' })
  @IsIn(PROVIDERS)
  provider!: string;

  @ApiProperty({ example: '17841400000000001' })
  @Matches(ACCOUNT_ID_PATTERN, { message: ACCOUNT_ID_MESSAGE })
  accountId!: string;
}

const BUSINESS_HOURS_EXAMPLE = { mon: ['09:00-13:00', '14:00-18:00'], sat: ['09:00-12:00'] };
const AUTO_REPLY_EXAMPLE = { enabled: true, text: 'Thank you, we will answer soon.', afterHoursText: '' };

export class CreateAccountDto {
  @ApiProperty({ enum: PROVIDERS, example: 'instagram' })
  @IsIn(PROVIDERS)
  provider!: string;

  @ApiProperty({
    description: 'the id Meta puts in entry[].id and recipient.id (Instagram account, Page, WhatsApp phone number id)',
    example: '17841400000000001',
  })
  @Matches(ACCOUNT_ID_PATTERN, { message: ACCOUNT_ID_MESSAGE })
  accountId!: string;

  @ApiProperty({ description: 'kept sealed; never returned by any route', writeOnly: true })
  @IsString()
  @Matches(ACCESS_TOKEN_PATTERN, { message: TOKEN_MESSAGE })
  accessToken!: string;

  @ApiPropertyOptional({
    description: 'Instagram tokens with an expiry are refreshed before it',
    example: '2026-03-01T00:00:00Z',
  })
  @IsOptional()
  @IsDateString({}, { message: 'tokenExpiresAt must be an ISO 8601 date-time' })
  tokenExpiresAt?: string | null;

  @ApiPropertyOptional({ example: 'Clinic, Lisbon branch', maxLength: 200 })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  displayName?: string | null;

  @ApiPropertyOptional({ description: 'IANA time zone of its business hours', example: 'Europe/Lisbon' })
  @IsOptional()
  @Satisfies(timezoneProblem)
  timezone?: string | null;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true, example: BUSINESS_HOURS_EXAMPLE })
  @IsOptional()
  @Satisfies(businessHoursProblem)
  businessHours?: BusinessHours | null;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true, example: AUTO_REPLY_EXAMPLE })
  @IsOptional()
  @Satisfies(autoReplyProblem)
  autoReply?: AutoReplySettings | null;
}

/** Every field may change; null clears an optional one. A new accessToken clears `needs_token`. */
export class UpdateAccountDto {
  @ApiPropertyOptional({ description: 'a new token: kept sealed, releases replies held for a token', writeOnly: true })
  @ValidateIf((body: UpdateAccountDto) => body.accessToken !== undefined)
  @IsString()
  @Matches(ACCESS_TOKEN_PATTERN, { message: TOKEN_MESSAGE })
  accessToken?: string;

  @ApiPropertyOptional({ nullable: true, description: 'with a new token and no expiry, the expiry is unknown' })
  @IsOptional()
  @IsDateString({}, { message: 'tokenExpiresAt must be an ISO 8601 date-time' })
  tokenExpiresAt?: string | null;

  @ApiPropertyOptional({ nullable: true, maxLength: 200 })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  displayName?: string | null;

  @ApiPropertyOptional({ nullable: true, example: 'Europe/Lisbon' })
  @IsOptional()
  @Satisfies(timezoneProblem)
  timezone?: string | null;

  @ApiPropertyOptional({ nullable: true, type: 'object', additionalProperties: true, example: BUSINESS_HOURS_EXAMPLE })
  @IsOptional()
  @Satisfies(businessHoursProblem)
  businessHours?: BusinessHours | null;

  @ApiPropertyOptional({ nullable: true, type: 'object', additionalProperties: true, example: AUTO_REPLY_EXAMPLE })
  @IsOptional()
  @Satisfies(autoReplyProblem)
  autoReply?: AutoReplySettings | null;
}

export class AccountDto {
  @ApiProperty({ enum: PROVIDERS }) provider!: string;
  @ApiProperty() accountId!: string;
  @ApiProperty({ nullable: true, type: String }) displayName!: string | null;
  @ApiProperty({ enum: ACCOUNT_STATUSES }) status!: string;
  @ApiProperty({
    enum: ['account', 'environment'],
    description: 'environment: the row holds no token; sends use the provider environment token',
  })
  tokenSource!: 'account' | 'environment';
  @ApiProperty({ nullable: true, type: Date }) tokenExpiresAt!: Date | null;
  @ApiProperty({ nullable: true, type: Date }) tokenRefreshedAt!: Date | null;
  @ApiProperty({ nullable: true, type: String, example: 'Europe/Lisbon' }) timezone!: string | null;
  @ApiProperty({ nullable: true, type: 'object', additionalProperties: true, example: BUSINESS_HOURS_EXAMPLE })
  businessHours!: BusinessHours | null;
  @ApiProperty({ nullable: true, type: 'object', additionalProperties: true, example: AUTO_REPLY_EXAMPLE })
  autoReply!: AutoReplySettings | null;
  @ApiProperty({ description: 'replies waiting for this account (paused, or needing a token)' })
  heldReplies!: number;
  @ApiProperty({ nullable: true, type: Date }) pausedAt!: Date | null;
  @ApiProperty({ nullable: true, type: String }) pausedBy!: string | null;
  @ApiProperty({ nullable: true, type: Date }) needsTokenSince!: Date | null;
  @ApiProperty() createdAt!: Date;
  @ApiProperty() updatedAt!: Date;
}

export class AccountListDto {
  @ApiProperty({ type: [AccountDto] }) items!: AccountDto[];
  @ApiProperty({
    description: 'which providers have an environment token, for accounts not in the table',
    example: { instagram: true, facebook: false, whatsapp: false },
  })
  environmentTokens!: Record<string, boolean>;
}
