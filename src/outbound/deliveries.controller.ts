import { Body, Controller, HttpCode, Post, UseFilters } from '@nestjs/common';
import { ApiAcceptedResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Actor } from '../platform/auth/api-key';
import { CurrentActor, Roles } from '../platform/auth/roles.decorator';
import { BulkRetryDto, BulkRetryResultDto } from './deliveries.dto';
import { BulkRetry, EndpointService } from './endpoint.service';
import { EndpointErrorFilter } from './endpoints/endpoint.errors';

@ApiTags('outbound endpoints')
@Roles('ops')
@UseFilters(EndpointErrorFilter)
@Controller('admin/deliveries')
export class DeliveriesController {
  constructor(private readonly endpoints: EndpointService) {}

  @Post('retry')
  @HttpCode(202)
  @ApiOperation({
    summary: 'Retry outbound deliveries by filter as a durable operation (failed ones by default); dryRun only counts',
  })
  @ApiAcceptedResponse({ type: BulkRetryResultDto })
  async retry(@Body() body: BulkRetryDto, @CurrentActor() actor: Actor): Promise<BulkRetryResultDto> {
    const filter: BulkRetry = {
      endpointId: body.endpointId,
      statuses: [body.status ?? 'failed'],
      eventType: body.eventType,
      from: body.from ? new Date(body.from) : undefined,
      to: body.to ? new Date(body.to) : undefined,
    };
    if (body.dryRun) return { dryRun: true, matched: await this.endpoints.countRetryable(filter) };
    const operation = await this.endpoints.retryInBulk(filter, actor);
    return { dryRun: false, matched: operation.total, operationId: operation.id, status: operation.status };
  }
}
