import {
  BadRequestException,
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  Post,
  Query,
  UseFilters,
} from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { AccessReasonQuery } from '../audit/access-reason.dto';
import { Actor } from '../platform/auth/api-key';
import { CurrentActor, Roles } from '../platform/auth/roles.decorator';
import { DeadLetterFilter, DeadLetterRecord } from './dead-letter.repository';
import { DeadLetterErrorFilter } from './dead-letter.errors';
import { DeadLetterService } from './dead-letter.service';
import {
  BulkReplayBody,
  BulkReplayDto,
  DeadLetterDetailDto,
  DeadLetterDto,
  DeadLetterFilterDto,
  DeadLetterPageDto,
  DeadLetterPayloadDto,
  ListDeadLettersQuery,
  PurgeDeadLettersQuery,
  PurgeResultDto,
  ReplayResultDto,
  UuidParam,
} from './dead-letter.dto';

@ApiTags('dead letters')
@Roles('ops')
@UseFilters(DeadLetterErrorFilter)
@Controller('admin/dead-letters')
export class DeadLettersController {
  constructor(private readonly deadLetters: DeadLetterService) {}

  @Get()
  @ApiOperation({ summary: 'List dead letters, newest first (default status: pending)' })
  @ApiOkResponse({ type: DeadLetterPageDto })
  async list(@Query() query: ListDeadLettersQuery): Promise<DeadLetterPageDto> {
    const { cursor, limit, status, ...filter } = query;
    const page = await this.deadLetters.list({ ...toFilter(filter), status }, cursor, limit ?? 50);
    return { items: page.items.map(withoutPosition), nextCursor: page.nextCursor };
  }

  @Post('replay')
  @HttpCode(202)
  @ApiOperation({
    summary:
      'Replay pending dead letters by ids and/or filter as a durable operation (paced, cancellable); dryRun only counts',
  })
  @ApiAcceptedResponse({ type: BulkReplayDto })
  @ApiBadRequestResponse({ description: 'neither ids nor filter given' })
  async bulkReplay(@Body() body: BulkReplayBody, @CurrentActor() actor: Actor): Promise<BulkReplayDto> {
    if (!body.ids && !body.filter) {
      throw new BadRequestException('give ids, or a filter ({} replays every pending dead letter)');
    }
    const filter: DeadLetterFilter = { ...toFilter(body.filter ?? {}), ids: body.ids };
    if (body.dryRun) return { dryRun: true, ...(await this.deadLetters.dryRun(filter)) };
    return { dryRun: false, ...(await this.deadLetters.startBulkReplay(filter, actor)) };
  }

  @Get('replays/:id')
  @ApiOperation({ summary: 'Progress of a bulk replay (its operation, also at GET /admin/operations/{id})' })
  @ApiOkResponse({ type: BulkReplayDto })
  @ApiNotFoundResponse()
  async bulkReplayProgress(@Param() params: UuidParam): Promise<BulkReplayDto> {
    return { dryRun: false, ...(await this.deadLetters.bulkReplay(params.id)) };
  }

  @Delete()
  @ApiOperation({
    summary: 'Purge dead letters created before olderThan (never younger than DLQ_RETENTION_DAYS); needs confirm=true',
  })
  @ApiOkResponse({ type: PurgeResultDto })
  @ApiBadRequestResponse({ description: 'confirm=true missing, or olderThan invalid' })
  async purge(@Query() query: PurgeDeadLettersQuery, @CurrentActor() actor: Actor): Promise<PurgeResultDto> {
    if (query.confirm !== true) throw new BadRequestException('confirm=true is required to purge');
    return this.deadLetters.purge(new Date(query.olderThan), actor);
  }

  @Get(':id')
  @ApiOperation({ summary: 'One dead letter: metadata, attempts, timestamps, sanitised error, job id' })
  @ApiOkResponse({ type: DeadLetterDetailDto })
  @ApiNotFoundResponse()
  async detail(@Param() params: UuidParam): Promise<DeadLetterDetailDto> {
    return withoutPosition(await this.deadLetters.detail(params.id));
  }

  @Get(':id/payload')
  @ApiOperation({
    summary:
      'The decrypted payload, for a stated reason. Every view is an audit entry with your key name and the reason.',
  })
  @ApiOkResponse({ type: DeadLetterPayloadDto })
  @ApiBadRequestResponse({ description: 'no reason given' })
  @ApiNotFoundResponse()
  @ApiConflictResponse({ description: 'the stored value does not belong to this row (moved from another)' })
  payload(
    @Param() params: UuidParam,
    @Query() query: AccessReasonQuery,
    @CurrentActor() actor: Actor,
  ): Promise<DeadLetterPayloadDto> {
    return this.deadLetters.payload(params.id, query.reason, actor);
  }

  @Post(':id/replay')
  @HttpCode(202)
  @ApiOperation({ summary: 'Replay one pending dead letter through the normal processor' })
  @ApiAcceptedResponse({ type: ReplayResultDto })
  @ApiNotFoundResponse()
  @ApiConflictResponse({ description: 'not pending, or a malformed body with no event' })
  replay(@Param() params: UuidParam, @CurrentActor() actor: Actor): Promise<ReplayResultDto> {
    return this.deadLetters.replay(params.id, actor);
  }
}

function toFilter(dto: DeadLetterFilterDto): DeadLetterFilter {
  return {
    provider: dto.provider,
    category: dto.category,
    source: dto.source,
    from: dto.from ? new Date(dto.from) : undefined,
    to: dto.to ? new Date(dto.to) : undefined,
  };
}

function withoutPosition<T extends DeadLetterRecord>(record: T): Omit<T, 'position'> & DeadLetterDto {
  const { position: _position, ...rest } = record;
  return rest;
}
