import {
  BadRequestException,
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  NotFoundException,
  Param,
  Patch,
  Post,
  ParseUUIDPipe,
  Query,
  UseFilters,
} from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { Actor } from '../platform/auth/api-key';
import { CurrentActor, Roles } from '../platform/auth/roles.decorator';
import { operationStarted, OperationStartedDto } from '../platform/operations/operation.dto';
import {
  AttemptPageDto,
  AttemptResponseDto,
  CreatedEndpointDto,
  CreateEndpointDto,
  DisableEndpointDto,
  EndpointDto,
  EndpointPageDto,
  ListAttemptsQuery,
  ListEndpointsQuery,
  OpenAttemptResponseQuery,
  RecoverDto,
  RequeuedDto,
  RotatedSecretDto,
  UpdateEndpointDto,
} from './endpoints/endpoint.dto';
import { CustomHeaderError } from './endpoints/custom-headers';
import { EndpointErrorFilter } from './endpoints/endpoint.errors';
import { EndpointService } from './endpoint.service';

/** An id that is not a UUID names no endpoint. */
const ENDPOINT_ID = new ParseUUIDPipe({ exceptionFactory: () => new NotFoundException('endpoint not found') });

/** A custom header that cannot be sent is the caller's mistake: 400, naming the header. */
async function refusingBadHeaders<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if (error instanceof CustomHeaderError) throw new BadRequestException(error.message);
    throw error;
  }
}

@ApiTags('outbound endpoints')
@Roles('ops')
@UseFilters(EndpointErrorFilter)
@Controller('endpoints')
export class EndpointsController {
  constructor(private readonly endpoints: EndpointService) {}

  @Post()
  @ApiCreatedResponse({ type: CreatedEndpointDto, description: 'the secret is shown in this answer only' })
  create(@Body() body: CreateEndpointDto, @CurrentActor() actor: Actor): Promise<CreatedEndpointDto> {
    return refusingBadHeaders(this.endpoints.create(body, actor));
  }

  @Get()
  @ApiOkResponse({ type: EndpointPageDto })
  list(@Query() query: ListEndpointsQuery): Promise<EndpointPageDto> {
    return this.endpoints.list(query.cursor, query.limit, query.status);
  }

  @Get(':id')
  @ApiOkResponse({ type: EndpointDto })
  get(@Param('id', ENDPOINT_ID) id: string): Promise<EndpointDto> {
    return this.endpoints.get(id);
  }

  @Patch(':id')
  @ApiOkResponse({ type: EndpointDto })
  update(
    @Param('id', ENDPOINT_ID) id: string,
    @Body() body: UpdateEndpointDto,
    @CurrentActor() actor: Actor,
  ): Promise<EndpointDto> {
    return refusingBadHeaders(this.endpoints.update(id, body, actor));
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiNoContentResponse()
  async remove(@Param('id', ENDPOINT_ID) id: string, @CurrentActor() actor: Actor): Promise<void> {
    await this.endpoints.remove(id, actor);
  }

  @Post(':id/rotate-secret')
  @HttpCode(200)
  @ApiOkResponse({ type: RotatedSecretDto, description: 'the old secret keeps signing until previousSecretExpiresAt' })
  rotateSecret(@Param('id', ENDPOINT_ID) id: string, @CurrentActor() actor: Actor): Promise<RotatedSecretDto> {
    return this.endpoints.rotateSecret(id, actor);
  }

  @Post(':id/enable')
  @HttpCode(200)
  @ApiOkResponse({ type: EndpointDto })
  enable(@Param('id', ENDPOINT_ID) id: string, @CurrentActor() actor: Actor): Promise<EndpointDto> {
    return this.endpoints.enable(id, actor);
  }

  @Post(':id/disable')
  @HttpCode(200)
  @ApiOkResponse({ type: EndpointDto })
  disable(
    @Param('id', ENDPOINT_ID) id: string,
    @Body() body: DisableEndpointDto,
    @CurrentActor() actor: Actor,
  ): Promise<EndpointDto> {
    return this.endpoints.disable(id, body?.reason, actor);
  }

  @Get(':id/attempts')
  @ApiOkResponse({ type: AttemptPageDto })
  attempts(@Param('id', ENDPOINT_ID) id: string, @Query() query: ListAttemptsQuery): Promise<AttemptPageDto> {
    return this.endpoints.attempts(id, query.cursor, query.limit);
  }

  @Get(':id/attempts/:attemptId/response')
  @ApiOperation({ summary: "A failed attempt's kept answer. Needs ?reason=; every view is an audit entry." })
  @ApiOkResponse({ type: AttemptResponseDto })
  attemptResponse(
    @Param('id', ENDPOINT_ID) id: string,
    @Param('attemptId') attemptId: string,
    @Query() query: OpenAttemptResponseQuery,
    @CurrentActor() actor: Actor,
  ): Promise<AttemptResponseDto> {
    return this.endpoints.attemptResponse(id, attemptId, query.reason, actor);
  }

  @Post(':id/recover')
  @HttpCode(202)
  @ApiOperation({ summary: 'Queue the failed deliveries created in [since, until) again, as a durable operation' })
  @ApiAcceptedResponse({ type: OperationStartedDto })
  async recover(
    @Param('id', ENDPOINT_ID) id: string,
    @Body() body: RecoverDto,
    @CurrentActor() actor: Actor,
  ): Promise<OperationStartedDto> {
    const until = body.until ? new Date(body.until) : undefined;
    return operationStarted(await this.endpoints.recover(id, new Date(body.since), until, actor));
  }

  @Post(':id/deliveries/:deliveryId/retry')
  @HttpCode(202)
  @ApiOkResponse({ type: RequeuedDto })
  async retry(
    @Param('id', ENDPOINT_ID) id: string,
    @Param('deliveryId') deliveryId: string,
    @CurrentActor() actor: Actor,
  ): Promise<RequeuedDto> {
    await this.endpoints.retryDelivery(id, deliveryId, actor);
    return { requeued: 1 };
  }
}
