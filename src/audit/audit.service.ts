import { Injectable } from '@nestjs/common';
import { GroupCommit } from '../platform/database/group-commit';
import { AuditEntry } from './audit-actions';
import { AuditRepository } from './audit.repository';

/** Appends to the audit log. Concurrent writers share one INSERT. */
@Injectable()
export class AuditService {
  private readonly writer: GroupCommit<AuditEntry, void>;

  constructor(repository: AuditRepository) {
    this.writer = new GroupCommit<AuditEntry, void>(
      async (entries) => {
        await repository.append(entries);
        return entries.map(() => undefined);
      },
      { name: 'audit', maxBatchWeight: 500, maxInFlight: 2, maxPending: 10_000 },
    );
  }

  record(entry: AuditEntry): Promise<void> {
    return this.writer.submit(entry);
  }
}
