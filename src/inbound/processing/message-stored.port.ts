/** A patient's message that processing has stored (ids and timing only: the text stays sealed in Postgres). */
export interface StoredMessage {
  provider: string;
  eventId: string;
  conversationId: string;
  accountId: string;
  senderId: string;
  occurredAt: Date;
  correlationId: string | null;
}

/**
 * Told of every stored incoming message, whatever becomes of its auto-reply; processing waits for it
 * before the job completes. Outbound implements it (subscribers hear of the message); the composition
 * binds it. It must never reject: the message is stored either way.
 */
export abstract class MessageStoredListener {
  abstract messageStored(message: StoredMessage): Promise<void>;
}
