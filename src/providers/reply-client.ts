/** What a provider's send client does: send one text reply from an account to a participant. */
export interface ReplyClient {
  readonly provider: string;
  sendText(message: OutgoingText): Promise<SendResult>;
}

export interface OutgoingText {
  /** The clinic's account the conversation belongs to (Instagram account, Page, or WhatsApp phone number id). */
  accountId: string;
  recipientId: string;
  text: string;
}

export interface SendResult {
  providerMessageId: string | null;
  httpStatus: number;
}

/** Injection token for the list of every provider's ReplyClient. */
export const REPLY_CLIENTS = Symbol('REPLY_CLIENTS');
