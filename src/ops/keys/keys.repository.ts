import { Injectable } from '@nestjs/common';
import { SealedColumn } from '../../platform/crypto/sealed-column';
import { Sql } from '../../platform/database/sql';

/** One stored value to re-seal: the row's keyset key, its binding id and the value (one of an array's). */
export interface SealedValueRow {
  key: string;
  rowId: string;
  values: Buffer[];
}

/** The key id a stored value names, in SQL (v1 values: `k0`, the id of DATA_ENCRYPTION_KEY). */
const KEY_ID_OF = (value: string) =>
  `CASE get_byte(${value}, 0) WHEN 1 THEN 'k0' WHEN 2 THEN encode(substring(${value} FROM 3 FOR get_byte(${value}, 1)), 'escape') ELSE '?' END`;

/** Reads the sealed columns by key id; the writes are the owners' (SealedColumn.reseal). */
@Injectable()
export class KeysRepository {
  constructor(private readonly db: Sql) {}

  /** Stored values per key id over every column (an array counts each of its values). */
  async valuesByKey(columns: readonly SealedColumn[]): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    for (const column of columns) {
      const values = column.array
        ? `(SELECT v FROM ${column.table} t, unnest(t.${column.column}) AS v)`
        : `(SELECT t.${column.column} AS v FROM ${column.table} t WHERE t.${column.column} IS NOT NULL)`;
      const rows = await this.db.query<{ id: string; n: string }>(
        `SELECT ${KEY_ID_OF('s.v')} AS id, count(*) AS n FROM ${values} s GROUP BY 1`,
      );
      for (const row of rows) counts.set(row.id, (counts.get(row.id) ?? 0) + Number(row.n));
    }
    return counts;
  }

  /** Rows holding a value that does not start with `prefix` (the primary key's header). */
  async countNotUnder(columns: readonly SealedColumn[], prefix: Buffer): Promise<number> {
    let total = 0;
    for (const column of columns) {
      const row = await this.db.one<{ n: string }>(
        `SELECT count(*) AS n FROM ${column.table} t WHERE ${notUnder(column)}`,
        [prefix],
      );
      total += Number(row?.n ?? 0);
    }
    return total;
  }

  /** The next rows after `afterKey` (keyset order) holding a value not under `prefix`. */
  async page(column: SealedColumn, afterKey: string | null, prefix: Buffer, limit: number): Promise<SealedValueRow[]> {
    const values = column.array ? `t.${column.column}` : `ARRAY[t.${column.column}]`;
    return this.db.query<SealedValueRow>(
      `SELECT (${column.key})::text AS key, ${column.rowId} AS "rowId", ${values} AS values
         FROM ${column.table} t
        WHERE ($2::text IS NULL OR ${column.key} > $2::text::${column.keyType}) AND ${notUnder(column)}
        ORDER BY ${column.key} LIMIT $3`,
      [prefix, afterKey, limit],
    );
  }

  /** Compare-and-set of re-sealed values; returns how many rows changed. */
  async reseal(
    column: SealedColumn,
    rows: readonly { key: string; old: Buffer[]; sealed: Buffer[] }[],
  ): Promise<number> {
    if (rows.length === 0) return 0;
    if (!column.array) {
      const changed = await this.db.query(`${column.reseal} RETURNING 1`, [
        rows.map((row) => row.key),
        rows.map((row) => row.old[0]),
        rows.map((row) => row.sealed[0]),
      ]);
      return changed.length;
    }
    let changed = 0;
    for (const row of rows) {
      changed += (await this.db.query(`${column.reseal} RETURNING 1`, [row.key, row.old, row.sealed])).length;
    }
    return changed;
  }
}

function notUnder(column: SealedColumn): string {
  const differs = (value: string) => `substring(${value} FROM 1 FOR length($1::bytea)) <> $1::bytea`;
  return column.array
    ? `EXISTS (SELECT 1 FROM unnest(t.${column.column}) AS v WHERE ${differs('v')})`
    : `t.${column.column} IS NOT NULL AND ${differs(`t.${column.column}`)}`;
}
