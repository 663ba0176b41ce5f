/**
 * Every sealed column, named for the associated data that binds a value to its row. Two columns that
 * hand a value to each other in SQL share a name (an endpoint's secret moves to its previous secrets on
 * rotation), so the move keeps it openable; moved to another row, it is not.
 */
export type SealedField =
  | 'webhook_receipts.body'
  | 'inbound_events.payload'
  | 'messages.content'
  | 'outgoing_messages.content'
  | 'outbound_endpoints.secret'
  | 'outbound_endpoints.headers'
  | 'outbound_events.data'
  | 'outbound_attempts.response'
  | 'accounts.token';

export interface RowBinding {
  field: SealedField;
  /** The row's primary key, as text (`provider:accountId` for accounts). */
  rowId: string;
}

export function sealedIn(field: SealedField, rowId: string): RowBinding {
  return { field, rowId };
}

/** The id of `DATA_ENCRYPTION_KEY` in a keyring, and of every value sealed before key ids existed. */
export const LEGACY_KEY_ID = 'k0';

/** A message's content is bound to its natural key: an edit seals before it knows the row's id. */
export function messageContentIn(provider: string, metaMessageId: string): RowBinding {
  return { field: 'messages.content', rowId: `${provider}:${metaMessageId}` };
}

/** A subscriber's kept answer is sealed before its attempt row (an identity) exists: bound to delivery and attempt. */
export function attemptResponseIn(deliveryId: string, attempt: number): RowBinding {
  return { field: 'outbound_attempts.response', rowId: `${deliveryId}:${attempt}` };
}
