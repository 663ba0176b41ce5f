import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsISO8601,
  IsObject,
  IsOptional,
  IsString,
  IsUUID,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import { DEAD_LETTER_STATUSES } from './dead-letter.repository';

const toBoolean = ({ value }: { value: unknown }) => (value === 'true' ? true : value === 'false' ? false : value);

/** Filters shared by the list and the bulk replay. */
export class DeadLetterFilterDto {
  @ApiPropertyOptional({ example: 'instagram' })
  @IsOptional()
  @IsString()
  @MaxLength(50)
  provider?: string;

  @ApiPropertyOptional({ example: 'policy', description: 'failure category (network, timeout, policy, …)' })
  @IsOptional()
  @IsString()
  @MaxLength(50)
  category?: string;

  @ApiPropertyOptional({ enum: ['inbound', 'outbound'] })
  @IsOptional()
  @IsIn(['inbound', 'outbound'])
  source?: string;

  @ApiPropertyOptional({ description: 'created at or after (ISO 8601)', example: '2026-11-01T00:00:00Z' })
  @IsOptional()
  @IsISO8601({ strict: true })
  from?: string;

  @ApiPropertyOptional({ description: 'created before (ISO 8601)' })
  @IsOptional()
  @IsISO8601({ strict: true })
  to?: string;
}

export class ListDeadLettersQuery extends DeadLetterFilterDto {
  @ApiPropertyOptional({ enum: [...DEAD_LETTER_STATUSES, 'all'], default: 'pending' })
  @IsOptional()
  @IsIn([...DEAD_LETTER_STATUSES, 'all'])
  status?: (typeof DEAD_LETTER_STATUSES)[number] | 'all';

  @ApiPropertyOptional({ description: 'opaque; the nextCursor of the previous page' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  cursor?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 500, default: 50 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(500)
  limit?: number;
}

export class DeadLetterDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ enum: ['inbound', 'outbound'] }) source!: string;
  @ApiProperty({ format: 'uuid', nullable: true, type: String }) eventId!: string | null;
  @ApiProperty({ format: 'uuid', nullable: true, type: String, description: 'set for a malformed webhook body' })
  receiptId!: string | null;
  @ApiProperty({ nullable: true, type: String }) provider!: string | null;
  @ApiProperty({ nullable: true, type: String }) correlationId!: string | null;
  @ApiProperty({ example: 'policy' }) category!: string;
  @ApiProperty({ description: 'sanitised: status and error codes only', example: 'Graph API answered 400 (code 10)' })
  error!: string;
  @ApiProperty() attempts!: number;
  @ApiProperty({ nullable: true, type: String, description: 'the BullMQ job that failed last' }) jobId!: string | null;
  @ApiProperty({ enum: DEAD_LETTER_STATUSES }) status!: string;
  @ApiProperty() firstFailedAt!: Date;
  @ApiProperty() lastFailedAt!: Date;
  @ApiProperty() replayCount!: number;
  @ApiProperty({ nullable: true, type: Date }) replayedAt!: Date | null;
  @ApiProperty() createdAt!: Date;
  @ApiProperty({ nullable: true, type: String, description: 'outbound: the failed delivery' })
  deliveryId!: string | null;
  @ApiProperty({ nullable: true, type: String, format: 'uuid', description: 'outbound: its endpoint' })
  endpointId!: string | null;
}

export class DeadLetterPageDto {
  @ApiProperty({ type: [DeadLetterDto] }) items!: DeadLetterDto[];
  @ApiProperty({ nullable: true, type: String, description: 'pass as `cursor` for the next page; null at the end' })
  nextCursor!: string | null;
}

class DeadLetterEventDto {
  @ApiProperty() kind!: string;
  @ApiProperty() channel!: string;
  @ApiProperty({ enum: ['received', 'processing', 'processed', 'failed'] }) status!: string;
  @ApiProperty() attempts!: number;
  @ApiProperty() priority!: number;
  @ApiProperty() receivedAt!: Date;
  @ApiProperty({ nullable: true, type: Date }) startedAt!: Date | null;
  @ApiProperty({ nullable: true, type: Date }) processedAt!: Date | null;
  @ApiProperty({ nullable: true, type: String }) lastErrorCategory!: string | null;
}

class DeadLetterReplyDto {
  @ApiProperty({ enum: ['sending', 'retrying', 'sent', 'failed', 'unknown', 'skipped'] }) status!: string;
  @ApiProperty() attempts!: number;
  @ApiProperty({ nullable: true, type: String }) lastErrorCategory!: string | null;
  @ApiProperty({ nullable: true, type: Number }) lastHttpStatus!: number | null;
  @ApiProperty({ nullable: true, type: Date }) sentAt!: Date | null;
}

class DeadLetterReceiptDto {
  @ApiProperty() receivedAt!: Date;
  @ApiProperty() bodyBytes!: number;
  @ApiProperty() eventCount!: number;
  @ApiProperty({ nullable: true, type: String }) parseError!: string | null;
}

export class DeadLetterDetailDto extends DeadLetterDto {
  @ApiProperty({ type: DeadLetterEventDto, nullable: true }) event!: DeadLetterEventDto | null;
  @ApiProperty({ type: DeadLetterReplyDto, nullable: true }) reply!: DeadLetterReplyDto | null;
  @ApiProperty({ type: DeadLetterReceiptDto, nullable: true }) receipt!: DeadLetterReceiptDto | null;
}

export class DeadLetterPayloadDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'uuid', nullable: true, type: String }) eventId!: string | null;
  @ApiProperty({ format: 'uuid', nullable: true, type: String }) receiptId!: string | null;
  @ApiProperty({ description: 'the decrypted event as Meta sent it', nullable: true, type: Object })
  payload!: unknown;
  @ApiProperty({ description: 'the decrypted raw body (malformed webhooks only)', nullable: true, type: String })
  receiptBody!: string | null;
}

export class ReplayResultDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'uuid', nullable: true, type: String, description: 'null when a re-read body held no event' })
  eventId!: string | null;
  @ApiProperty({ nullable: true, type: String, description: 'the new BullMQ job', example: '0193…-replay-1' })
  jobId!: string | null;
  @ApiProperty({
    type: [String],
    description: 'every event queued (several when a malformed body, read again, yields several)',
  })
  eventIds!: string[];
}

export class BulkReplayBody {
  @ApiPropertyOptional({ type: [String], description: 'dead-letter ids (up to 10,000)' })
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(10_000)
  @IsUUID('all', { each: true, message: 'each id must be a UUID' })
  ids?: string[];

  @ApiPropertyOptional({ type: DeadLetterFilterDto, description: 'every pending dead letter matching; {} for all' })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => DeadLetterFilterDto)
  filter?: DeadLetterFilterDto;

  @ApiPropertyOptional({ default: false, description: 'only count what would be replayed' })
  @IsOptional()
  @IsBoolean()
  dryRun?: boolean;
}

export class ReplyWindowsDto {
  @ApiProperty({ description: 'the reply would go out now (within 24 h of the patient writing)' }) replyable!: number;
  @ApiProperty({ description: 'between 24 h and 7 days: only a person with the HUMAN_AGENT tag (POST /messages)' })
  humanAgent!: number;
  @ApiProperty({ description: 'past the window: a replay skips the reply (window_closed)' }) windowClosed!: number;
  @ApiProperty({ description: 'events that take no reply' }) noReply!: number;
}

export class DryRunLetterDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'uuid' }) eventId!: string;
  @ApiProperty({ enum: ['replyable', 'human_agent', 'window_closed', 'no_reply'] }) window!: string;
}

export class BulkReplayDto {
  @ApiProperty({ description: 'true for a dry run: nothing was replayed' }) dryRun!: boolean;
  @ApiPropertyOptional({ type: ReplyWindowsDto, description: 'dry run: the reply window of the letters listed' })
  windows?: ReplyWindowsDto;
  @ApiPropertyOptional({
    type: [DryRunLetterDto],
    description: 'dry run: each event dead letter (the first 1,000, oldest first) and its reply window now',
  })
  letters?: DryRunLetterDto[];
  @ApiProperty({ description: 'pending event dead letters matching the selection' }) matched!: number;
  @ApiProperty({ description: 'malformed-body dead letters in the selection (replay those one by one)' })
  skippedReceiptsOnly!: number;
  @ApiProperty({ description: 'outbound delivery dead letters in the selection (retry them through /endpoints)' })
  skippedOutbound!: number;
  @ApiPropertyOptional({ format: 'uuid', description: 'follow it at GET /admin/operations/{operationId}' })
  operationId?: string;
  @ApiPropertyOptional({ format: 'uuid', description: 'the same id (GET /admin/dead-letters/replays/{replayId})' })
  replayId?: string;
  @ApiPropertyOptional({ enum: ['running', 'finished', 'cancelled', 'failed'] }) status?: string;
  @ApiPropertyOptional() replayed?: number;
  @ApiPropertyOptional() actor?: string;
  @ApiPropertyOptional() startedAt?: Date;
  @ApiPropertyOptional({ nullable: true, type: Date }) finishedAt?: Date | null;
  @ApiPropertyOptional({ nullable: true, type: String }) error?: string | null;
}

export class PurgeDeadLettersQuery {
  @ApiProperty({ description: 'delete dead letters created before this instant (ISO 8601)' })
  @IsISO8601({ strict: true })
  olderThan!: string;

  @ApiProperty({ description: 'must be true', example: true })
  @Transform(toBoolean)
  @IsBoolean()
  confirm!: boolean;
}

export class PurgeResultDto {
  @ApiProperty() deleted!: number;
  @ApiProperty({ description: 'the cutoff applied: olderThan, or the retention limit when olderThan was later' })
  cutoff!: Date;
  @ApiProperty() retentionDays!: number;
  @ApiProperty() clampedToRetention!: boolean;
}

export class UuidParam {
  @ApiProperty({ format: 'uuid' })
  @IsUUID('all', { message: 'id must be a UUID' })
  id!: string;
}
