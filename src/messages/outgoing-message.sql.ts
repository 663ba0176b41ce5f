import { SealedColumn } from '../platform/crypto/sealed-column';

/** The text of messages sent through POST /messages, for re-encryption (platform/crypto/sealed-column.ts). */
export const outgoingMessageSealedColumns: SealedColumn[] = [
  {
    field: 'outgoing_messages.content',
    table: 'outgoing_messages',
    column: 'content',
    key: 't.id',
    keyType: 'uuid',
    rowId: 't.id::text',
    array: false,
    reseal: `UPDATE outgoing_messages t SET content = u.new FROM unnest($1::uuid[], $2::bytea[], $3::bytea[]) AS u(id, old, new)
              WHERE t.id = u.id AND t.content = u.old`,
  },
];
