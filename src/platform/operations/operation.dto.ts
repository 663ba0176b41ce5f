import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, IsUUID, Max, MaxLength, Min } from 'class-validator';
import { OPERATION_STATUSES } from './operation-kind';
import { OperationRecord } from './operation-record';

export class OperationDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ example: 'dead-letters.replay' }) kind!: string;
  @ApiProperty({ enum: OPERATION_STATUSES }) status!: string;
  @ApiProperty({ description: 'items it covers, counted when it started' }) total!: number;
  @ApiProperty() done!: number;
  @ApiProperty({ description: 'items it could not do (e.g. taken by another replay at the same moment)' })
  failed!: number;
  @ApiProperty({ description: 'the API key that started it' }) actor!: string;
  @ApiProperty({
    type: 'object',
    description: 'what it covers: ids, categories and dates only',
    additionalProperties: true,
  })
  filter!: Record<string, unknown>;
  @ApiProperty({ description: 'a cancel was asked for' }) cancelRequested!: boolean;
  @ApiProperty({ nullable: true, type: String, description: 'a failure category when it failed' })
  error!: string | null;
  @ApiProperty() createdAt!: Date;
  @ApiProperty() updatedAt!: Date;
  @ApiProperty({ nullable: true, type: Date }) finishedAt!: Date | null;
}

export class OperationPageDto {
  @ApiProperty({ type: [OperationDto] }) items!: OperationDto[];
  @ApiProperty({ nullable: true, type: String, description: 'pass as `cursor` for the next page' })
  nextCursor!: string | null;
}

/** The answer to a request that started an operation. */
export class OperationStartedDto {
  @ApiProperty({ format: 'uuid', description: 'follow it at GET /admin/operations/{operationId}' })
  operationId!: string;
  @ApiProperty() kind!: string;
  @ApiProperty({ enum: OPERATION_STATUSES }) status!: string;
  @ApiProperty({ description: 'items it covers' }) total!: number;
}

export class ListOperationsQuery {
  @ApiPropertyOptional({ enum: OPERATION_STATUSES })
  @IsOptional()
  @IsIn(OPERATION_STATUSES)
  status?: (typeof OPERATION_STATUSES)[number];

  @ApiPropertyOptional({ example: 'deliveries.retry' })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  kind?: string;

  @ApiPropertyOptional({ description: 'the last id of the previous page' })
  @IsOptional()
  @IsUUID('all')
  cursor?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 200, default: 20 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  limit?: number;
}

/** Long id lists are shown as their count. */
function describeFilter(filter: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(filter).map(([key, value]) => [
      key,
      Array.isArray(value) && value.length > 20 ? value.length : value,
    ]),
  );
}

export function operationView(operation: OperationRecord): OperationDto {
  return {
    id: operation.id,
    kind: operation.kind,
    status: operation.status,
    total: operation.total,
    done: operation.done,
    failed: operation.failed,
    actor: operation.actor,
    filter: describeFilter(operation.filter),
    cancelRequested: operation.cancelRequestedAt !== null,
    error: operation.error,
    createdAt: operation.createdAt,
    updatedAt: operation.updatedAt,
    finishedAt: operation.finishedAt,
  };
}

export function operationStarted(operation: OperationRecord): OperationStartedDto {
  return { operationId: operation.id, kind: operation.kind, status: operation.status, total: operation.total };
}
