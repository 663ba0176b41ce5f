import { BadRequestException, Controller, Get, Query, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { FastifyReply } from 'fastify';
import { Actor } from '../platform/auth/api-key';
import { CurrentActor, Roles } from '../platform/auth/roles.decorator';
import { AuditAction } from './audit-actions';
import { auditLogCsv } from './audit-log-csv';
import { AuditLogPageDto, AuditLogQuery } from './audit-log.dto';
import { AuditLogFilter, AuditLogRepository } from './audit-log.repository';
import { AuditService } from './audit.service';

@ApiTags('audit log')
@Roles('staff', 'ops')
@Controller('audit-logs')
export class AuditLogController {
  constructor(
    private readonly auditLog: AuditLogRepository,
    private readonly audit: AuditService,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Search the audit log, newest first; format=csv streams every matching entry' })
  @ApiProduces('application/json', 'text/csv')
  @ApiOkResponse({ type: AuditLogPageDto })
  async search(@Query() query: AuditLogQuery, @CurrentActor() actor: Actor, @Res() reply: FastifyReply): Promise<void> {
    const { cursor, limit, format, from, to, ...rest } = query;
    const filter: AuditLogFilter = {
      ...rest,
      from: from ? new Date(from) : undefined,
      to: to ? new Date(to) : undefined,
    };
    const beforeId = cursor ? decodeCursor(cursor) : null;

    if (format === 'csv') {
      await this.audit.record({
        action: AuditAction.AuditLogExported,
        outcome: 'info',
        actor: actor.name,
        metadata: { filter: { ...query, format: undefined } },
      });
      const stamp = new Date().toISOString().replace(/[:.]/g, '-');
      await reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="audit-log-${stamp}.csv"`)
        .send(auditLogCsv(this.auditLog, filter, beforeId));
      return;
    }

    const size = limit ?? 100;
    const rows = await this.auditLog.page(filter, beforeId, size + 1);
    const items = rows.slice(0, size);
    const body: AuditLogPageDto = {
      items,
      nextCursor: rows.length > size ? encodeCursor(items[items.length - 1].id) : null,
    };
    await reply.send(body);
  }
}

function encodeCursor(id: string): string {
  return Buffer.from(`a:${id}`).toString('base64url');
}

function decodeCursor(cursor: string): string {
  const match = /^a:(\d{1,19})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match) throw new BadRequestException('invalid cursor');
  return match[1];
}
