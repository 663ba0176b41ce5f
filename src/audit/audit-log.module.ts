import { Module } from '@nestjs/common';
import { AuditLogController } from './audit-log.controller';
import { AuditLogRepository } from './audit-log.repository';

/** GET /audit-logs: search and CSV export for clinic staff and ops (API process only). */
@Module({
  controllers: [AuditLogController],
  providers: [AuditLogRepository],
})
export class AuditLogModule {}
