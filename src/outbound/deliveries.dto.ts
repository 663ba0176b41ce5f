import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsDateString, IsIn, IsOptional, IsUUID, Matches, MaxLength } from 'class-validator';
import { EVENT_TYPE_PATTERN } from './events/event-types';

export class BulkRetryDto {
  @ApiPropertyOptional({ format: 'uuid', description: "one endpoint's deliveries only" })
  @IsOptional()
  @IsUUID('all')
  endpointId?: string;

  @ApiPropertyOptional({ enum: ['failed', 'succeeded'], default: 'failed', description: 'succeeded: send again' })
  @IsOptional()
  @IsIn(['failed', 'succeeded'])
  status?: 'failed' | 'succeeded';

  @ApiPropertyOptional({ example: 'instagram.message.received' })
  @IsOptional()
  @Matches(EVENT_TYPE_PATTERN)
  @MaxLength(200)
  eventType?: string;

  @ApiPropertyOptional({ description: 'deliveries created at or after (ISO 8601)' })
  @IsOptional()
  @IsDateString()
  from?: string;

  @ApiPropertyOptional({ description: 'deliveries created before (ISO 8601; default: now)' })
  @IsOptional()
  @IsDateString()
  to?: string;

  @ApiPropertyOptional({ default: false, description: 'only count what would be retried' })
  @IsOptional()
  @IsBoolean()
  dryRun?: boolean;
}

export class BulkRetryResultDto {
  @ApiProperty() dryRun: boolean;
  @ApiProperty({ description: 'deliveries matching' }) matched: number;
  @ApiPropertyOptional({ format: 'uuid', description: 'follow it at GET /admin/operations/{operationId}' })
  operationId?: string;
  @ApiPropertyOptional() status?: string;
}
