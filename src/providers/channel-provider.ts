export const PROVIDERS = ['instagram', 'facebook', 'whatsapp'] as const;
export type Provider = (typeof PROVIDERS)[number];

export const EVENT_KINDS = [
  'message',
  'message_echo',
  'message_deleted',
  'message_edit',
  'reaction',
  'read',
  'postback',
  'referral',
  'comment',
  'change',
  /** A delivery status (sent, delivered, read, failed) of a message the account sent: WhatsApp. */
  'status',
  'unknown',
] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

/** Where in the envelope the event came from: `entry[].messaging[]`, `entry[].standby[]` or `entry[].changes[]`. */
export type EventChannel = 'messaging' | 'standby' | 'changes';

/** One event read out of a Meta envelope, before it is stored. `payload` is the event object as Meta sent it. */
export interface ParsedEvent {
  kind: EventKind;
  channel: EventChannel;
  /** `provider:kind:meta-id`; the kind is part of the key because a deletion reuses its message's `mid`. */
  idempotencyKey: string;
  accountId: string | null;
  senderId: string | null;
  recipientId: string | null;
  metaMessageId: string | null;
  occurredAt: Date | null;
  payload: unknown;
}

export class MalformedEnvelopeError extends Error {
  constructor(readonly reason: 'invalid_json' | 'not_an_envelope' | 'wrong_object') {
    super(`webhook body is not a Meta envelope (${reason})`);
  }
}
