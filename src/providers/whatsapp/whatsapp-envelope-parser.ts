import { EventKind, MalformedEnvelopeError, ParsedEnvelope, ParsedEvent } from '../channel-provider';
import {
  checkItemCount,
  Fingerprint,
  idOf,
  isObject,
  itemFingerprint,
  Json,
  keyOf,
  labelOf,
  normaliseTimestamp,
} from '../meta/payload-reading';

/** Message types whose content sits in a sub-object named after the type: stored as attachments. */
const MEDIA_TYPES = new Set(['image', 'audio', 'video', 'document', 'sticker', 'location', 'contacts']);

/**
 * Reads a WhatsApp Cloud API envelope (`object: "whatsapp_business_account"`): every
 * `entry[].changes[].value.messages[]` and `statuses[]` item becomes one event; other changes are
 * recorded as `change`. Messages are stored in the Messenger shape the processing handler reads
 * (`sender`, `recipient`, `timestamp`, `message.{mid,text,attachments}`), with the original under `whatsapp`.
 * An item that cannot be read (too deep to serialise) is counted, not thrown: its neighbours still become events.
 */
export function parseWhatsAppEnvelope(body: unknown, fingerprint: Fingerprint): ParsedEnvelope {
  if (!isObject(body) || !Array.isArray(body.entry)) throw new MalformedEnvelopeError('not_an_envelope');
  if (body.object !== 'whatsapp_business_account') throw new MalformedEnvelopeError('wrong_object');
  const changes = body.entry.flatMap((entry) =>
    isObject(entry) && Array.isArray(entry.changes) ? entry.changes.map((item: unknown) => ({ entry, item })) : [],
  );
  const values = changes.map(({ item }) => (isObject(item) && isObject(item.value) ? item.value : {}));
  checkItemCount(values, ['messages', 'statuses'], changes.length);

  const events: ParsedEvent[] = [];
  let unreadableItems = 0;
  const read = (reader: () => ParsedEvent) => {
    try {
      events.push(reader());
    } catch {
      unreadableItems += 1;
    }
  };
  for (const { entry, item } of changes) {
    const businessAccountId = idOf(entry.id, fingerprint);
    const change = isObject(item) ? item : {};
    const value = isObject(change.value) ? change.value : {};
    const metadata = isObject(value.metadata) ? value.metadata : {};
    // Replies are sent from the phone number, so it is the account the conversation belongs to.
    const phoneNumberId = idOf(metadata.phone_number_id, fingerprint);
    const messages = Array.isArray(value.messages) ? value.messages : [];
    const statuses = Array.isArray(value.statuses) ? value.statuses : [];
    if (change.field !== 'messages' || !phoneNumberId || (messages.length === 0 && statuses.length === 0)) {
      read(() => readOtherChange(item, change, phoneNumberId ?? businessAccountId, fingerprint));
      continue;
    }
    for (const message of messages) read(() => readMessage(message, phoneNumberId, fingerprint));
    for (const status of statuses) read(() => readStatus(status, phoneNumberId, fingerprint));
  }
  return { events, unreadableItems };
}

/** An own property only: a `type` such as `constructor` must not reach Object.prototype. */
const own = (object: Json, key: string): unknown => (Object.hasOwn(object, key) ? object[key] : undefined);

function readMessage(item: unknown, phoneNumberId: string, fingerprint: Fingerprint): ParsedEvent {
  const message = isObject(item) ? item : {};
  const wamid = idOf(message.id, fingerprint);
  const from = idOf(message.from, fingerprint);
  const type = typeof message.type === 'string' ? message.type : 'unknown';
  const occurredAt = normaliseTimestamp(message.timestamp);
  // A reaction arrives as a message but, as on Messenger, is recorded and never answered.
  const kind: EventKind = type === 'reaction' ? 'reaction' : type === 'system' ? 'change' : 'message';
  const media = MEDIA_TYPES.has(type) ? own(message, type) : undefined;
  return {
    kind,
    channel: 'changes',
    idempotencyKey: keyOf(`whatsapp:${kind}`, wamid ?? itemFingerprint(item, fingerprint), fingerprint),
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
  const typed = own(message, String(message.type));
  const media = isObject(typed) ? typed : {};
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
  const wamid = idOf(status.id, fingerprint);
  const state = labelOf(status.status, 'unknown', fingerprint);
  return {
    kind: 'status',
    channel: 'changes',
    // One message goes through sent, delivered and read: each is its own event.
    idempotencyKey: keyOf(
      'whatsapp:status',
      wamid ? `${wamid}:${state}` : itemFingerprint(item, fingerprint),
      fingerprint,
    ),
    accountId: phoneNumberId,
    senderId: phoneNumberId,
    recipientId: idOf(status.recipient_id, fingerprint),
    metaMessageId: wamid,
    occurredAt: normaliseTimestamp(status.timestamp),
    payload: item,
  };
}

function readOtherChange(item: unknown, change: Json, accountId: string | null, fingerprint: Fingerprint): ParsedEvent {
  const field = labelOf(change.field, 'unknown', fingerprint);
  const value = isObject(change.value) ? change.value : {};
  return {
    kind: 'change',
    channel: 'changes',
    idempotencyKey: keyOf('whatsapp:change', `${field}:${itemFingerprint(item, fingerprint)}`, fingerprint),
    accountId,
    senderId: null,
    recipientId: accountId,
    metaMessageId: null,
    occurredAt: normaliseTimestamp(value.timestamp),
    payload: item,
  };
}
