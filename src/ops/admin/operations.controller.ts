import {
  Controller,
  Get,
  HttpCode,
  Param,
  ParseUUIDPipe,
  NotFoundException,
  Post,
  Query,
  UseFilters,
} from '@nestjs/common';
import { ApiNotFoundResponse, ApiConflictResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AuditAction } from '../../audit/audit-actions';
import { AuditService } from '../../audit/audit.service';
import { Actor } from '../../platform/auth/api-key';
import { CurrentActor, Roles } from '../../platform/auth/roles.decorator';
import {
  ListOperationsQuery,
  OperationDto,
  OperationPageDto,
  operationView,
} from '../../platform/operations/operation.dto';
import { OperationErrorFilter } from '../../platform/operations/operation.errors';
import { Operations } from '../../platform/operations/operations.service';

/** An id that is not a UUID names no operation. */
const OPERATION_ID = new ParseUUIDPipe({ exceptionFactory: () => new NotFoundException('no such operation') });

@ApiTags('operations')
@Roles('ops')
@UseFilters(OperationErrorFilter)
@Controller('admin/operations')
export class OperationsController {
  constructor(
    private readonly operations: Operations,
    private readonly audit: AuditService,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Durable operations (bulk replays, bulk retries, re-encryption), newest first' })
  @ApiOkResponse({ type: OperationPageDto })
  async list(@Query() query: ListOperationsQuery): Promise<OperationPageDto> {
    const limit = query.limit ?? 20;
    const rows = await this.operations.list({ status: query.status, kind: query.kind }, query.cursor ?? null, limit);
    return { items: rows.map(operationView), nextCursor: rows.length === limit ? rows[rows.length - 1].id : null };
  }

  @Get(':id')
  @ApiOperation({ summary: 'One operation: status, total, done, failed (from any instance, also after a restart)' })
  @ApiOkResponse({ type: OperationDto })
  @ApiNotFoundResponse()
  async get(@Param('id', OPERATION_ID) id: string): Promise<OperationDto> {
    return operationView(await this.operations.get(id));
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @ApiOperation({ summary: 'Stop a running operation after the batch in hand; answers how many it did' })
  @ApiOkResponse({ type: OperationDto })
  @ApiNotFoundResponse()
  @ApiConflictResponse({ description: 'it completed or failed already' })
  async cancel(@Param('id', OPERATION_ID) id: string, @CurrentActor() actor: Actor): Promise<OperationDto> {
    const operation = await this.operations.cancel(id);
    await this.audit.record({
      action: AuditAction.OperationCancelled,
      outcome: 'success',
      actor: actor.name,
      correlationId: actor.correlationId,
      metadata: { operationId: id, kind: operation.kind, status: operation.status, done: operation.done },
    });
    return operationView(operation);
  }
}
