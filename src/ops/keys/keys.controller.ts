import { Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import { ApiAcceptedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Actor } from '../../platform/auth/api-key';
import { CurrentActor, Roles } from '../../platform/auth/roles.decorator';
import { AccessReportQuery } from './keys.dto';
import { AccessReport, EncryptionReport, KeysService } from './keys.service';

@ApiTags('admin')
@Controller('admin')
@Roles('ops')
export class KeysController {
  constructor(private readonly keys: KeysService) {}

  @Get('encryption')
  @ApiOperation({ summary: 'The primary key, and how many stored values each key id seals' })
  @ApiOkResponse({
    schema: {
      example: {
        primaryKeyId: 'k1',
        keys: [
          { id: 'k1', values: 1200, inRing: true },
          { id: 'k0', values: 0, inRing: true },
        ],
      },
    },
  })
  encryption(): Promise<EncryptionReport> {
    return this.keys.report();
  }

  @Post('encryption/reencrypt')
  @HttpCode(202)
  @ApiOperation({ summary: 'Re-seal every stored value under the primary key (a durable operation)' })
  @ApiAcceptedResponse({ schema: { example: { operationId: '0193…', status: 'running', total: 1200 } } })
  async reencrypt(@CurrentActor() actor: Actor): Promise<{ operationId: string; status: string; total: number }> {
    const operation = await this.keys.startReencryption(actor.name);
    return { operationId: operation.id, status: operation.status, total: operation.total };
  }

  @Get('access-report')
  @ApiOperation({
    summary: "Every audited access to a patient's content (views, replays, sends, erasure), newest first",
  })
  accessReport(@Query() query: AccessReportQuery): Promise<AccessReport> {
    return this.keys.accessReport(query.provider, query.participantId, query.limit ?? 500);
  }
}
