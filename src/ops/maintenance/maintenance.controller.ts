import { Controller, HttpCode, Post } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Actor } from '../../platform/auth/api-key';
import { CurrentActor, Roles } from '../../platform/auth/roles.decorator';
import { RetentionReport, RetentionService } from './retention.service';

@ApiTags('admin')
@Controller('admin/maintenance')
export class MaintenanceController {
  constructor(private readonly retention: RetentionService) {}

  @Post('retention')
  @HttpCode(200)
  @Roles('ops')
  @ApiOperation({ summary: 'Run the retention job now (it also runs daily) and return what it removed' })
  @ApiOkResponse({
    schema: {
      example: {
        trigger: 'on_demand',
        startedAt: '2026-11-22T03:15:00.000Z',
        durationMs: 812,
        days: { raw: 7, messages: 90, deadLetters: 30, audit: 365 },
        counts: { receiptBodies: 1200, eventPayloads: 1180, messageContent: 40, deadLetters: 2, auditEntries: 0 },
      },
    },
  })
  runRetention(@CurrentActor() actor: Actor): Promise<RetentionReport> {
    return this.retention.run({ actor: actor.name, trigger: 'on_demand' });
  }
}
