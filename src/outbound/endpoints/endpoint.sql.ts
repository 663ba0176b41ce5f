import { SealedColumn, uuidKeyedColumn } from '../../platform/crypto/sealed-column';

/** An endpoint's signing secrets and custom headers, for re-encryption. The plaintext does not change: no version bump. */
export const endpointSealedColumns: SealedColumn[] = [
  uuidKeyedColumn('outbound_endpoints.secret', 'outbound_endpoints', 'secret_sealed'),
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
  uuidKeyedColumn('outbound_endpoints.headers', 'outbound_endpoints', 'headers_sealed'),
];
