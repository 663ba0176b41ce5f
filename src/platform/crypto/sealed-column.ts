import { SealedField } from './sealed-fields';

/**
 * A sealed column as re-encryption and the key report walk it. `key` and `rowId` are SQL over the alias
 * `t`: the keyset order (unique) and the binding's row id. `reseal` is the owner's compare-and-set UPDATE:
 * scalar columns take `$1` keys (text[]), `$2` old values, `$3` new values (bytea[]); an array column one
 * row: `$1` key, `$2` old array, `$3` new array. A value changed meanwhile is left alone.
 */
export interface SealedColumn {
  field: SealedField;
  table: string;
  column: string;
  key: string;
  keyType: 'uuid' | 'bigint' | 'text';
  rowId: string;
  array: boolean;
  reseal: string;
}

/**
 * The common case: a scalar column of a table keyed by a uuid `id`, each value bound to that id. The reseal
 * is still the owner's statement, written here once for all of them.
 */
export function uuidKeyedColumn(field: SealedField, table: string, column: string): SealedColumn {
  return {
    field,
    table,
    column,
    key: 't.id',
    keyType: 'uuid',
    rowId: 't.id::text',
    array: false,
    reseal: `UPDATE ${table} t SET ${column} = u.new FROM unnest($1::uuid[], $2::bytea[], $3::bytea[]) AS u(id, old, new)
              WHERE t.id = u.id AND t.${column} = u.old`,
  };
}
