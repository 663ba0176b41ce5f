import { Injectable, Logger } from '@nestjs/common';
import { AuditAction } from '../../audit/audit-actions';
import { AuditService } from '../../audit/audit.service';
import { DataCipher, DecryptionError, sealedIn } from '../../platform/crypto/data-cipher';
import { OperationBatch, OperationKind, OperationRun, OperationStatus } from '../../platform/operations/operation-kind';
import { KeysRepository } from './keys.repository';
import { SEALED_COLUMNS } from './sealed-columns';

/** Rows per batch: one SELECT and one compare-and-set UPDATE, each a short statement of its own. */
export const REENCRYPT_PAGE = 1000;

/** Stored with the operation: the key everything is re-sealed under (ids only). */
export interface ReencryptFilter {
  primaryKeyId: string;
}

/** `column index|last key`: where the next batch starts. */
function encodeCursor(column: number, key: string | null): string {
  return `${column}|${key ?? ''}`;
}

function decodeCursor(cursor: string | null): { column: number; key: string | null } {
  if (!cursor) return { column: 0, key: null };
  const bar = cursor.indexOf('|');
  const key = cursor.slice(bar + 1);
  return { column: Number(cursor.slice(0, bar)), key: key === '' ? null : key };
}

/**
 * Re-seals every stored value that is not under the primary key (or not yet bound to its row) under the
 * primary key, bound: column by column, in keyset order, a page per batch. Each row is a compare-and-set,
 * so a value written meanwhile is left as it is, and a batch run twice (after a crash) finds nothing
 * left to do for the rows it did: no value is ever sealed twice under different keys.
 */
@Injectable()
export class ReencryptOperation extends OperationKind<ReencryptFilter> {
  readonly name = 'encryption.reencrypt';
  private readonly logger = new Logger(ReencryptOperation.name);

  constructor(
    private readonly repository: KeysRepository,
    private readonly cipher: DataCipher,
    private readonly audit: AuditService,
  ) {
    super();
  }

  count(): Promise<number> {
    return this.repository.countNotUnder(SEALED_COLUMNS, this.cipher.primaryPrefix);
  }

  async runBatch(filter: ReencryptFilter, cursor: string | null, _run: OperationRun): Promise<OperationBatch> {
    if (filter.primaryKeyId !== this.cipher.primaryKeyId) {
      // Another primary since it started (a restart with a new ring): re-sealing goes on under the new one.
      this.logger.warn({
        msg: 'primary key changed during re-encryption',
        from: filter.primaryKeyId,
        to: this.cipher.primaryKeyId,
      });
    }
    let { column, key } = decodeCursor(cursor);
    while (column < SEALED_COLUMNS.length) {
      const sealedColumn = SEALED_COLUMNS[column];
      const page = await this.repository.page(sealedColumn, key, this.cipher.primaryPrefix, REENCRYPT_PAGE);
      if (page.length === 0) {
        column += 1;
        key = null;
        continue;
      }
      let failed = 0;
      const resealed: { key: string; old: Buffer[]; sealed: Buffer[] }[] = [];
      for (const row of page) {
        const binding = sealedIn(sealedColumn.field, row.rowId);
        try {
          const sealed = row.values.map((value) =>
            this.cipher.isCurrent(value) ? value : this.cipher.encrypt(this.cipher.decrypt(value, binding), binding),
          );
          resealed.push({ key: row.key, old: row.values, sealed });
        } catch (error) {
          if (!(error instanceof DecryptionError)) throw error;
          // Left as it is (a key missing from the ring, or a value moved from another row): counted, never lost.
          failed += 1;
          this.logger.warn({
            msg: 'stored value not re-sealed',
            table: sealedColumn.table,
            column: sealedColumn.column,
            failure: error.failure,
          });
        }
      }
      const done = await this.repository.reseal(sealedColumn, resealed);
      const last = page[page.length - 1].key;
      return { done, failed, cursor: encodeCursor(column, last) };
    }
    return { done: 0, failed: 0, cursor: null };
  }

  override async finished(run: OperationRun, status: OperationStatus, done: number): Promise<void> {
    await this.audit
      .record({
        action: AuditAction.EncryptionReencrypted,
        outcome: status === 'completed' ? 'success' : 'failure',
        actor: run.actor,
        metadata: { operationId: run.id, status, done, primaryKeyId: this.cipher.primaryKeyId },
      })
      .catch(() => undefined);
  }
}
