import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsDateString, IsDefined, IsIn, IsOptional, IsString, MaxLength } from 'class-validator';
import { PRIORITIES, PriorityName } from '../delivery/priority';

export class TriggerEventDto {
  @ApiProperty({ description: 'the payload, delivered as `data`', example: { orderId: 'o_123' } })
  @IsDefined()
  data: unknown;

  @ApiPropertyOptional({ description: 'reaches unscoped endpoints and endpoints of this tenant only' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  tenantId?: string;

  @ApiPropertyOptional({ enum: Object.keys(PRIORITIES), default: 'normal' })
  @IsOptional()
  @IsIn(Object.keys(PRIORITIES))
  priority?: PriorityName;

  @ApiPropertyOptional({ description: 'deliver no earlier than this instant (ISO 8601)' })
  @IsOptional()
  @IsDateString()
  deliverAt?: string;
}

export class TriggeredEventDto {
  @ApiProperty() eventId: string;
  @ApiProperty({ description: 'active endpoints the event was fanned out to' }) endpointCount: number;
}

export class DeliveryCountsDto {
  @ApiProperty() pending: number;
  @ApiProperty() succeeded: number;
  @ApiProperty() failed: number;
}

export class EventDto {
  @ApiProperty() id: string;
  @ApiProperty() type: string;
  @ApiProperty({ nullable: true, type: String }) tenantId: string | null;
  @ApiProperty() priority: number;
  @ApiProperty({ nullable: true, type: String }) deliverAt: string | null;
  @ApiProperty() endpointCount: number;
  @ApiProperty({ nullable: true, type: String }) dispatchedAt: string | null;
  @ApiProperty({ type: DeliveryCountsDto }) deliveries: DeliveryCountsDto;
  @ApiProperty() createdAt: string;
}
