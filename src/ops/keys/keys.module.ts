import { Module } from '@nestjs/common';
import { OperationsModule } from '../../platform/operations/operations.module';
import { AccessReportRepository } from './access-report.repository';
import { KeysController } from './keys.controller';
import { KeysRepository } from './keys.repository';
import { KeysService } from './keys.service';
import { ReencryptOperation } from './reencrypt.operation';

/** Keys and access to patient data: the key report, re-encryption (a durable operation), the access report. */
@Module({
  imports: [OperationsModule],
  controllers: [KeysController],
  providers: [KeysRepository, AccessReportRepository, KeysService, ReencryptOperation],
  exports: [ReencryptOperation],
})
export class KeysModule {}
