import { Global, Module } from '@nestjs/common';
import { AuditRepository } from './audit.repository';
import { AuditService } from './audit.service';
import { RejectionTally } from './rejection-tally';
import { RejectionTallyRepository } from './rejection-tally.repository';

@Global()
@Module({
  providers: [AuditRepository, AuditService, RejectionTallyRepository, RejectionTally],
  exports: [AuditService, AuditRepository, RejectionTally],
})
export class AuditModule {}
