import { Injectable } from '@nestjs/common';
import { Sql } from '../platform/database/sql';
import { AuditEntry } from './audit-actions';
import { auditInsert, auditParams } from './audit-sql';

@Injectable()
export class AuditRepository {
  constructor(private readonly db: Sql) {}

  async append(entries: readonly AuditEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await this.db.query(auditInsert(1), auditParams(entries));
  }
}
