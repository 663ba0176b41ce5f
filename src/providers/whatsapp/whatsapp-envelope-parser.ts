import { EventKind, MalformedEnvelopeError, ParsedEvent } from '../channel-provider';
import { Fingerprint, idOf, isObject, Json, normaliseTimestamp } from '../meta/payload-reading';

/** Message types whose content sits in a sub-object named after the type: stored as attachments. */
const MEDIA_TYPES = new Set(['image', 'audio', 'video', 'document', 'sticker', 'location', 'contacts']);

/**
 * Reads a WhatsApp Cloud API envelope (`object: "whatsapp_business_account"`): every
 * `entry[].changes[].value.messages[]` and `statuses[]` item becomes one event; other changes are
 * recorded as `change`. Messages are stored in the Messenger shape the processing handler reads
 * (`sender`, `recipient`, `timestamp`, `message.{mid,text,attachments}`), with the original under `whatsapp`.
 */
export function parseWhatsAppEnvelope(body: unknown, fingerprint: Fingerprint): ParsedEvent[] {
  if (!isObject(body) || !Array.isArray(body.entry)) throw new MalformedEnvelopeError('not_an_envelope');
  if (body.object !== 'whatsapp_business_account') throw new MalformedEnvelopeError('wrong_object');

  const events: ParsedEvent[] = [];
  for (const entry of body.entry) {
    if (!isObject(entry) || !Array.isArray(entry.changes)) continue;
    const businessAccountId = idOf(entry.id);
    for (const item of entry.changes) {
      const change = isObject(item) ? item : {};
      const value = isObject(change.value) ? change.value : {};
      const metadata = isObject(value.metadata) ? value.metadata : {};
      // Replies are sent from the phone number, so it is the account the conversation belongs to.
      const phoneNumberId = idOf(metadata.phone_number_id);
      const messages = Array.isArray(value.messages) ? value.messages : [];
      const statuses = Array.isArray(value.statuses) ? value.statuses : [];
      if (change.field !== 'messages' || !phoneNumberId || (messages.length === 0 && statuses.length === 0)) {
        events.push(readOtherChange(item, change, phoneNumberId ?? businessAccountId, fingerprint));
        continue;
      }
      for (const message of messages) events.push(readMessage(message, phoneNumberId, fingerprint));
      for (const status of statuses) events.push(readStatus(status, phoneNumberId, fingerprint));
    }
  }
  return events;
}

function readMessage(item: unknown, phoneNumberId: string, fingerprint: Fingerprint): ParsedEvent {
  const message = isObject(item) ? item : {};
  const wamid = idOf(message.id);
  const from = idOf(message.from);
  const type = typeof message.type === 'string' ? message.type : 'unknown';
  const occurredAt = normaliseTimestamp(message.timestamp);
  // A reaction arrives as a message but, as on Messenger, is recorded and never answered.
  const kind: EventKind = type === 'reaction' ? 'reaction' : type === 'system' ? 'change' : 'message';
  const media = MEDIA_TYPES.has(type) && message[type] !== undefined ? message[type] : undefined;
  return {
    kind,
    channel: 'changes',
    idempotencyKey: `whatsapp:${kind}:${wamid ?? `fp-${fingerprint(JSON.stringify(item))}`}`,
    accountId: phoneNumberId,
    senderId: from,
    recipientId: phoneNumberId,
    metaMessageId: wamid,
    occurredAt,
    payload: {
      sender: { id: from },
      recipient: { id: phoneNumberId },
      timestamp: occurredAt?.getTime() ?? null,
      message: {
        mid: wamid,
        text: textOf(message),
        attachments: media === undefined ? [] : [{ type, payload: media }],
      },
      whatsapp: item,
    },
  };
}

/** The words the person wrote: a text body, a media caption, or the label of a tapped button. */
function textOf(message: Json): string | null {
  const text = isObject(message.text) ? message.text.body : undefined;
  if (typeof text === 'string') return text;
  const media = isObject(message[String(message.type)]) ? (message[String(message.type)] as Json) : {};
  if (typeof media.caption === 'string') return media.caption;
  if (isObject(message.button) && typeof message.button.text === 'string') return message.button.text;
  if (isObject(message.interactive)) {
    const reply = message.interactive.button_reply ?? message.interactive.list_reply;
    if (isObject(reply) && typeof reply.title === 'string') return reply.title;
  }
  return null;
}

function readStatus(item: unknown, phoneNumberId: string, fingerprint: Fingerprint): ParsedEvent {
  const status = isObject(item) ? item : {};
  const wamid = idOf(status.id);
  const state = typeof status.status === 'string' ? status.status : 'unknown';
  return {
    kind: 'status',
    channel: 'changes',
    // One message goes through sent, delivered and read: each is its own event.
    idempotencyKey: `whatsapp:status:${wamid ? `${wamid}:${state}` : `fp-${fingerprint(JSON.stringify(item))}`}`,
    accountId: phoneNumberId,
    senderId: phoneNumberId,
    recipientId: idOf(status.recipient_id),
    metaMessageId: wamid,
    occurredAt: normaliseTimestamp(status.timestamp),
    payload: item,
  };
}

function readOtherChange(item: unknown, change: Json, accountId: string | null, fingerprint: Fingerprint): ParsedEvent {
  const field = typeof change.field === 'string' ? change.field : 'unknown';
  const value = isObject(change.value) ? change.value : {};
  return {
    kind: 'change',
    channel: 'changes',
    idempotencyKey: `whatsapp:change:${field}:fp-${fingerprint(JSON.stringify(item))}`,
    accountId,
    senderId: null,
    recipientId: accountId,
    metaMessageId: null,
    occurredAt: normaliseTimestamp(value.timestamp),
    payload: item,
  };
}
