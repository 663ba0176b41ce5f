import { SealedColumn, uuidKeyedColumn } from '../platform/crypto/sealed-column';

/** The text of messages sent through POST /messages, for re-encryption (platform/crypto/sealed-column.ts). */
export const outgoingMessageSealedColumns: SealedColumn[] = [
  uuidKeyedColumn('outgoing_messages.content', 'outgoing_messages', 'content'),
];
