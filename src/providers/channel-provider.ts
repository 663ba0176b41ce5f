import { FailureCategory } from '../platform/failure';

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

/** What one envelope holds: its events, and how many items in it could not be read (kept in the sealed body). */
export interface ParsedEnvelope {
  events: ParsedEvent[];
  unreadableItems: number;
}

/**
 * Why a signed body is stored as a `malformed` dead letter (a category, never content). `too_many_events`:
 * over MAX_EVENTS_PER_BODY; `too_deep`: nested beyond what the lossless reader follows; `unreadable_items`:
 * some items could not be serialised (the others are events); `parser_error`: the parser itself failed.
 */
export type MalformedReason =
  | 'invalid_json'
  | 'not_an_envelope'
  | 'wrong_object'
  | 'too_many_events'
  | 'too_deep'
  | 'unreadable_items'
  | 'parser_error';

export class MalformedEnvelopeError extends Error {
  constructor(readonly reason: MalformedReason) {
    super(`webhook body is not a Meta envelope (${reason})`);
  }
}

/** Keyed one-way hash for ids that Meta does not give (DataCipher.fingerprint). */
export type Fingerprint = (value: string | Buffer) => string;

export interface OutgoingText {
  /** The clinic's account the conversation belongs to (Instagram account, Page, or WhatsApp phone number id). */
  accountId: string;
  recipientId: string;
  text: string;
  /** The account's own token; unset: the provider's environment token (an account not in the accounts table). */
  accessToken?: string;
  /** Meta's message tag: `HUMAN_AGENT` lets a person answer up to 7 days after the patient wrote (Instagram, Messenger). */
  tag?: 'HUMAN_AGENT';
}

export interface SendResult {
  providerMessageId: string | null;
  httpStatus: number;
}

/**
 * A channel Switchboard talks to: how to read its webhooks, how to send into it, and how to classify
 * the errors it reports later (a delivery status). Adding one is a folder under providers/ and an entry
 * in ChannelProviders.
 */
export interface ChannelProvider {
  readonly name: Provider;
  /** Every event of a signed webhook body; throws MalformedEnvelopeError when it is not this channel's envelope. */
  parse(body: unknown, fingerprint: Fingerprint): ParsedEnvelope;
  /** One text message from an account to a participant; a failure is thrown as a ClassifiedFailure. */
  sendText(message: OutgoingText): Promise<SendResult>;
  /** The category of an error the channel reported after accepting a message. */
  classifyError(error: unknown): FailureCategory;
}
