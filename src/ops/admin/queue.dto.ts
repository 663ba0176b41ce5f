import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsString, Matches, MaxLength } from 'class-validator';

export class QueueCountsDto {
  @ApiProperty() waiting!: number;
  @ApiProperty() active!: number;
  @ApiProperty() delayed!: number;
  @ApiProperty() prioritized!: number;
  @ApiProperty() failed!: number;
  @ApiProperty() completed!: number;
}

export class ProcessingTimesDto {
  @ApiProperty({ nullable: true, type: Number }) averageMs!: number | null;
  @ApiProperty({ nullable: true, type: Number }) p95Ms!: number | null;
  @ApiProperty({ description: 'events the figures come from: the latest processed, at most 10,000, within 15 minutes' })
  sampleSize!: number;
}

export class QueueFigureDto {
  @ApiProperty({ example: 'inbound-events' }) name!: string;
  @ApiProperty({ nullable: true, type: Number }) waiting!: number | null;
  @ApiProperty({ nullable: true, type: Number }) active!: number | null;
  @ApiProperty({ nullable: true, type: Number }) delayed!: number | null;
  @ApiProperty({ nullable: true, type: Number }) prioritized!: number | null;
  @ApiProperty({ nullable: true, type: Number }) failed!: number | null;
  @ApiProperty({ nullable: true, type: Number }) completed!: number | null;
  @ApiProperty({ nullable: true, type: Number, description: 'pending dead letters of this queue' })
  deadLetters!: number | null;
  @ApiProperty({ nullable: true, type: Number, description: 'failed attempts in the last 15 minutes' })
  failuresLast15Minutes!: number | null;
  @ApiProperty({ nullable: true, type: ProcessingTimesDto }) processing!: ProcessingTimesDto | null;
  @ApiProperty({ nullable: true, type: Number, description: 'events finished in the last minute' })
  throughputLastMinute!: number | null;
  @ApiProperty({ nullable: true, enum: ['postgres'], description: 'where timings and failures come from' })
  timingsSource!: 'postgres' | null;
}

export class QueuesDto {
  @ApiProperty({ type: [QueueFigureDto] }) queues!: QueueFigureDto[];
  @ApiProperty({ description: 'false when Redis did not answer (counts are then null)' }) redisConnected!: boolean;
  @ApiProperty() generatedAt!: Date;
}

export class JobParams {
  @ApiProperty({ example: 'inbound-events' })
  @IsString()
  @MaxLength(100)
  queue!: string;

  @ApiProperty({ description: 'job id (an event id, or <event id>-replay-<n>)' })
  @Matches(/^[A-Za-z0-9_.-]{1,200}$/, { message: 'id may hold letters, digits and _ . - only' })
  id!: string;
}

export class JobDto {
  @ApiProperty() id!: string;
  @ApiProperty() queue!: string;
  @ApiProperty() name!: string;
  @ApiProperty({
    enum: ['waiting', 'active', 'delayed', 'prioritized', 'failed', 'completed', 'waiting-children', 'unknown'],
  })
  state!: string;
  @ApiProperty({ description: 'ids only, never content', type: Object }) data!: Record<string, unknown>;
  @ApiProperty({ description: 'attempts made so far' }) attempts!: number;
  @ApiProperty() maxAttempts!: number;
  @ApiProperty() createdAt!: Date;
  @ApiProperty({ nullable: true, type: Date, description: 'when the latest attempt started' })
  startedAt!: Date | null;
  @ApiProperty({ nullable: true, type: Date }) finishedAt!: Date | null;
  @ApiProperty({ nullable: true, type: String, description: 'sanitised: a failure category summary' })
  lastError!: string | null;
  @ApiPropertyOptional({ nullable: true, type: Date, description: 'when a delayed retry is due' })
  nextRetryAt!: Date | null;
}
