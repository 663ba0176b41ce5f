import { Pool } from 'pg';
import { SEALED_COLUMNS } from '../../src/ops/keys/sealed-columns';
import { DataCipher, DecryptionError, sealedIn } from '../../src/platform/crypto/data-cipher';
import { SealedColumn } from '../../src/platform/crypto/sealed-column';

export interface StoredValue {
  column: SealedColumn;
  rowId: string;
  value: Buffer;
}

/** Every value of every sealed column, with the row it is bound to. */
export async function storedValues(pool: Pool): Promise<StoredValue[]> {
  const found: StoredValue[] = [];
  for (const column of SEALED_COLUMNS) {
    const values = column.array ? `t.${column.column}` : `ARRAY[t.${column.column}]`;
    const { rows } = await pool.query<{ rowId: string; values: Buffer[] }>(
      `SELECT ${column.rowId} AS "rowId", ${values} AS values FROM ${column.table} t WHERE t.${column.column} IS NOT NULL`,
    );
    for (const row of rows) for (const value of row.values) found.push({ column, rowId: row.rowId, value });
  }
  return found;
}

/** The stored value opened where it lies, or the DecryptionError it gives. */
export function openStored(cipher: DataCipher, stored: StoredValue): Buffer | DecryptionError {
  try {
    return cipher.decrypt(stored.value, sealedIn(stored.column.field, stored.rowId));
  } catch (error) {
    if (error instanceof DecryptionError) return error;
    throw error;
  }
}
