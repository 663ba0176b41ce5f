import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, Matches, MaxLength, MinLength } from 'class-validator';
import { ACCOUNT_ID_PATTERN } from '../accounts/account';
import { MAX_REPLY_TEXT } from '../accounts/reply-settings';
import { PROVIDERS } from '../providers/channel-provider';
import { MESSAGE_STATUSES } from './outgoing-message.repository';

export class SendMessageBody {
  @ApiProperty({ enum: PROVIDERS })
  @IsIn(PROVIDERS, { message: `provider must be one of ${PROVIDERS.join(', ')}` })
  provider!: string;

  @ApiProperty({ description: 'the account that has the conversation (entry[].id)', example: '17841400000000001' })
  @IsString()
  @Matches(ACCOUNT_ID_PATTERN, { message: 'accountId must be letters, digits and _ . : - (at most 100)' })
  accountId!: string;

  @ApiProperty({ description: "the patient's id as Meta sends it (sender.id)", example: '6543210987654321' })
  @IsString()
  @Matches(ACCOUNT_ID_PATTERN, { message: 'recipientId must be letters, digits and _ . : - (at most 100)' })
  recipientId!: string;

  @ApiProperty({ description: `the text, 1 to ${MAX_REPLY_TEXT} characters (Meta's limit); stored sealed` })
  @IsString()
  @MinLength(1, { message: 'text must not be empty' })
  @MaxLength(MAX_REPLY_TEXT, { message: `text must be at most ${MAX_REPLY_TEXT} characters (Meta's limit)` })
  text!: string;

  @ApiPropertyOptional({
    enum: ['HUMAN_AGENT'],
    description: 'a person answering 24 h to 7 days after the patient wrote (instagram, facebook)',
  })
  @IsOptional()
  @IsIn(['HUMAN_AGENT'], { message: 'tag may be HUMAN_AGENT only' })
  tag?: 'HUMAN_AGENT';
}

export class SentMessageDto {
  @ApiProperty({ format: 'uuid' }) messageId!: string;
  @ApiProperty({ enum: MESSAGE_STATUSES }) status!: string;
}

export class MessageDto {
  @ApiProperty({ format: 'uuid' }) messageId!: string;
  @ApiProperty({ enum: PROVIDERS }) provider!: string;
  @ApiProperty() accountId!: string;
  @ApiProperty() recipientId!: string;
  @ApiProperty({ enum: MESSAGE_STATUSES }) status!: string;
  @ApiProperty({ nullable: true, type: String, description: 'why it failed, was skipped or is unknown' })
  failureCategory!: string | null;
  @ApiProperty({ nullable: true, type: String }) providerMessageId!: string | null;
  @ApiProperty() createdAt!: Date;
  @ApiProperty({ nullable: true, type: Date }) sentAt!: Date | null;
}
