import {
  BadRequestException,
  Body,
  Controller,
  Get,
  Headers,
  HttpCode,
  NotFoundException,
  Param,
  ParseUUIDPipe,
  Post,
  Req,
} from '@nestjs/common';
import { ApiAcceptedResponse, ApiHeader, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { FastifyRequest } from 'fastify';
import { Actor } from '../../platform/auth/api-key';
import { CurrentActor, Roles } from '../../platform/auth/roles.decorator';
import { DeliveryRepository } from '../delivery/delivery.repository';
import { EventDto, TriggeredEventDto, TriggerEventDto } from './event.dto';
import { PRIORITIES } from '../delivery/priority';
import { EVENT_TYPE_PATTERN } from './event-types';
import { OutboundEventPublisher } from './outbound-event.publisher';

/** Types Switchboard publishes itself; a publisher may not forge them. */
const RESERVED_PREFIXES = ['endpoint.', 'instagram.'];

@ApiTags('outbound events')
@Roles('publisher', 'ops')
@Controller('events')
export class EventsController {
  constructor(
    private readonly publisher: OutboundEventPublisher,
    private readonly deliveries: DeliveryRepository,
  ) {}

  @Post(':eventType')
  @HttpCode(202)
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: 'a repeated trigger returns the first event' })
  @ApiAcceptedResponse({ type: TriggeredEventDto })
  async trigger(
    @Param('eventType') eventType: string,
    @Body() body: TriggerEventDto,
    @CurrentActor() actor: Actor,
    @Req() request: FastifyRequest,
    @Headers('idempotency-key') idempotencyKey?: string,
  ): Promise<TriggeredEventDto> {
    if (eventType.length > 200 || !EVENT_TYPE_PATTERN.test(eventType)) {
      throw new BadRequestException('event type must be dot-separated words, e.g. order.created');
    }
    if (RESERVED_PREFIXES.some((prefix) => eventType.startsWith(prefix))) {
      throw new BadRequestException(`event types under ${RESERVED_PREFIXES.join(', ')} are published by Switchboard`);
    }
    if (idempotencyKey !== undefined && (idempotencyKey.length === 0 || idempotencyKey.length > 255)) {
      throw new BadRequestException('Idempotency-Key must be 1 to 255 characters');
    }
    const result = await this.publisher.publish({
      eventType,
      data: body.data,
      tenantId: body.tenantId ?? null,
      priority: PRIORITIES[body.priority ?? 'normal'],
      deliverAt: body.deliverAt ? new Date(body.deliverAt) : null,
      idempotencyKey: idempotencyKey ?? null,
      publisher: actor.name,
      correlationId: String(request.id),
    });
    return { eventId: result.eventId, endpointCount: result.endpointCount };
  }

  @Get(':id')
  @ApiOkResponse({ type: EventDto })
  async get(
    @Param('id', new ParseUUIDPipe({ exceptionFactory: () => new NotFoundException('event not found') })) id: string,
  ): Promise<EventDto> {
    const row = await this.deliveries.eventSummary(id);
    if (!row) throw new NotFoundException('event not found');
    const iso = (value: Date | null) => (value ? new Date(value).toISOString() : null);
    return {
      id: row.id,
      type: row.eventType,
      tenantId: row.tenantId,
      priority: row.priority,
      deliverAt: iso(row.deliverAt),
      endpointCount: row.endpointCount,
      dispatchedAt: iso(row.dispatchedAt),
      deliveries: { pending: row.pending, succeeded: row.succeeded, failed: row.failed },
      createdAt: new Date(row.createdAt).toISOString(),
    };
  }
}
