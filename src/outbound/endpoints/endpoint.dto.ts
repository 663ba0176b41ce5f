import { ApiProperty, ApiPropertyOptional, PartialType } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsDateString,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  MaxLength,
  Min,
} from 'class-validator';
import { EVENT_FILTER_PATTERN } from './event-filters';

export class CreateEndpointDto {
  @ApiProperty({ example: 'https://crm.example.com/webhooks/switchboard' })
  @IsUrl({ protocols: ['http', 'https'], require_protocol: true, require_tld: false })
  @MaxLength(2048)
  url: string;

  @ApiProperty({
    example: ['instagram.message.received', 'endpoint.*'],
    description: 'event types: exact, "*" for all, or "prefix.*"',
  })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(100)
  @Matches(EVENT_FILTER_PATTERN, { each: true, message: 'each event filter must be a type, "*" or "prefix.*"' })
  events: string[];

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(500)
  description?: string;

  @ApiPropertyOptional({ description: 'only events published for this tenant reach the endpoint' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  tenantId?: string;

  @ApiPropertyOptional({ description: 'deliveries per second, across all workers' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(10_000)
  rateLimitPerSecond?: number;

  @ApiPropertyOptional({
    description:
      'deliveries in flight at once, per worker process (default OUTBOUND_ENDPOINT_CONCURRENCY): it guards each ' +
      "worker's own delivery slots, so N workers may hold N times the cap; rateLimitPerSecond is the global limit",
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(1000)
  maxConcurrency?: number;

  @ApiPropertyOptional({ description: 'per-attempt timeout (default OUTBOUND_TIMEOUT_MS)' })
  @IsOptional()
  @IsInt()
  @Min(50)
  @Max(120_000)
  timeoutMs?: number;

  @ApiPropertyOptional({ type: 'object', additionalProperties: { type: 'string' }, example: { 'x-api-key': '…' } })
  @IsOptional()
  @IsObject()
  headers?: Record<string, string>;
}

export class UpdateEndpointDto extends PartialType(CreateEndpointDto) {}

export class DisableEndpointDto {
  @ApiPropertyOptional({ example: 'maintenance' })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  reason?: string;
}

export class RecoverDto {
  @ApiProperty({ description: 'failed deliveries created at or after this instant are queued again' })
  @IsDateString()
  since: string;

  @ApiPropertyOptional({ description: 'and before this one (default: now)' })
  @IsOptional()
  @IsDateString()
  until?: string;
}

export class ListEndpointsQuery {
  @ApiPropertyOptional({ description: 'the last id of the previous page' })
  @IsOptional()
  @IsString()
  cursor?: string;

  @ApiPropertyOptional({ default: 50 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(500)
  limit?: number;

  @ApiPropertyOptional({ enum: ['active', 'disabled'] })
  @IsOptional()
  @IsIn(['active', 'disabled'])
  status?: 'active' | 'disabled';
}

export class ListAttemptsQuery {
  @ApiPropertyOptional({ description: 'the last id of the previous page (newest first)' })
  @IsOptional()
  @Matches(/^\d+$/)
  cursor?: string;

  @ApiPropertyOptional({ default: 50 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(500)
  limit?: number;
}

export class EndpointStatsDto {
  @ApiProperty() deliveries: number;
  @ApiProperty() failures: number;
  @ApiProperty() consecutiveFailures: number;
  @ApiProperty({ nullable: true, type: String }) lastSuccessAt: string | null;
  @ApiProperty({ nullable: true, type: String }) lastFailureAt: string | null;
}

export class EndpointDto {
  @ApiProperty() id: string;
  @ApiProperty() url: string;
  @ApiProperty({ nullable: true, type: String }) description: string | null;
  @ApiProperty({ type: [String] }) events: string[];
  @ApiProperty({ nullable: true, type: String }) tenantId: string | null;
  @ApiProperty({ enum: ['active', 'disabled'] }) status: 'active' | 'disabled';
  @ApiProperty({ nullable: true, type: String }) disabledReason: string | null;
  @ApiProperty({ nullable: true, type: String }) disabledAt: string | null;
  @ApiProperty({ nullable: true, type: Number }) rateLimitPerSecond: number | null;
  @ApiProperty({ nullable: true, type: Number }) maxConcurrency: number | null;
  @ApiProperty({ nullable: true, type: Number }) timeoutMs: number | null;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' } }) headers: Record<string, string>;
  @ApiProperty({ nullable: true, type: String, description: 'until when the last rotated-out secret still signs' })
  previousSecretExpiresAt: string | null;
  @ApiProperty({
    type: [String],
    description: 'rotated-out secrets still signing next to the current one (at most 4), latest expiry first',
  })
  previousSecretsExpireAt: string[];
  @ApiProperty({ type: EndpointStatsDto }) stats: EndpointStatsDto;
  @ApiProperty() createdAt: string;
  @ApiProperty() updatedAt: string;
}

export class CreatedEndpointDto extends EndpointDto {
  @ApiProperty({ description: 'shown once: store it now', example: 'whsec_…' })
  secret: string;
}

export class EndpointPageDto {
  @ApiProperty({ type: [EndpointDto] }) items: EndpointDto[];
  @ApiProperty({ nullable: true, type: String }) nextCursor: string | null;
}

export class RotatedSecretDto {
  @ApiProperty({ example: 'whsec_…' }) secret: string;
  @ApiProperty() previousSecretExpiresAt: string;
}

export class AttemptDto {
  @ApiProperty() id: string;
  @ApiProperty() deliveryId: string;
  @ApiProperty() eventId: string;
  @ApiProperty() attempt: number;
  @ApiProperty({ enum: ['success', 'failure'] }) status: 'success' | 'failure';
  @ApiProperty({ nullable: true, type: String }) category: string | null;
  @ApiProperty({ nullable: true, type: Number }) responseCode: number | null;
  @ApiProperty() durationMs: number;
  @ApiProperty({
    nullable: true,
    type: Number,
    description: 'bytes the subscriber answered (reading stops past 64 KB)',
  })
  responseBytes: number | null;
  @ApiProperty({
    description:
      "a failed attempt's answer (first 2 KB) is kept sealed: open it with GET …/attempts/{attemptId}/response",
  })
  responseKept: boolean;
  @ApiProperty() createdAt: string;
}

export class OpenAttemptResponseQuery {
  @ApiProperty({ description: 'why you open it (kept in the audit entry)', example: 'subscriber rejects our payload' })
  @IsString()
  @Matches(/\S/, { message: 'reason must say why' })
  @MaxLength(500)
  reason: string;
}

export class AttemptResponseDto {
  @ApiProperty() id: string;
  @ApiProperty({ nullable: true, type: Number }) responseCode: number | null;
  @ApiProperty({ nullable: true, type: Number }) responseBytes: number | null;
  @ApiProperty({ description: 'the kept answer as UTF-8 (invalid bytes replaced)' }) body: string;
  @ApiProperty({ description: 'the kept answer, exactly' }) bodyBase64: string;
}

export class AttemptPageDto {
  @ApiProperty({ type: [AttemptDto] }) items: AttemptDto[];
  @ApiProperty({ nullable: true, type: String }) nextCursor: string | null;
}

export class RequeuedDto {
  @ApiProperty() requeued: number;
}
