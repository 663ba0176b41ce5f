import { SealedColumn } from '../../platform/crypto/sealed-column';

/** An endpoint's signing secrets and custom headers, for re-encryption. The plaintext does not change: no version bump. */
export const endpointSealedColumns: SealedColumn[] = [
  {
    field: 'outbound_endpoints.secret',
    table: 'outbound_endpoints',
    column: 'secret_sealed',
    key: 't.id',
    keyType: 'uuid',
    rowId: 't.id::text',
    array: false,
    reseal: `UPDATE outbound_endpoints t SET secret_sealed = u.new
               FROM unnest($1::uuid[], $2::bytea[], $3::bytea[]) AS u(id, old, new)
              WHERE t.id = u.id AND t.secret_sealed = u.old`,
  },
  {
    field: 'outbound_endpoints.secret',
    table: 'outbound_endpoints',
    column: 'previous_secrets_sealed',
    key: 't.id',
    keyType: 'uuid',
    rowId: 't.id::text',
    array: true,
    reseal: `UPDATE outbound_endpoints SET previous_secrets_sealed = $3::bytea[]
              WHERE id = $1::uuid AND previous_secrets_sealed = $2::bytea[]`,
  },
  {
    field: 'outbound_endpoints.headers',
    table: 'outbound_endpoints',
    column: 'headers_sealed',
    key: 't.id',
    keyType: 'uuid',
    rowId: 't.id::text',
    array: false,
    reseal: `UPDATE outbound_endpoints t SET headers_sealed = u.new
               FROM unnest($1::uuid[], $2::bytea[], $3::bytea[]) AS u(id, old, new)
              WHERE t.id = u.id AND t.headers_sealed = u.old`,
  },
];
