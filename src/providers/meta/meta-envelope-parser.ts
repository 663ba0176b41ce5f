import {
  EventChannel,
  EventKind,
  MalformedEnvelopeError,
  ParsedEnvelope,
  ParsedEvent,
  Provider,
} from '../channel-provider';
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
} from './payload-reading';

const CHANNELS = ['messaging', 'standby', 'changes'] as const;

/**
 * Reads every event out of a Messenger-platform envelope (Instagram and Facebook share it):
 * `entry[].messaging[]`, `entry[].standby[]` and `entry[].changes[]`. An item that cannot be read
 * (too deep to serialise) is counted, not thrown: its neighbours still become events.
 */
export function parseMetaEnvelope(
  body: unknown,
  provider: Provider,
  expectedObject: string,
  fingerprint: Fingerprint,
): ParsedEnvelope {
  if (!isObject(body) || !Array.isArray(body.entry)) throw new MalformedEnvelopeError('not_an_envelope');
  if (body.object !== expectedObject) throw new MalformedEnvelopeError('wrong_object');
  const entries = body.entry.filter(isObject);
  checkItemCount(entries, CHANNELS);

  const events: ParsedEvent[] = [];
  let unreadableItems = 0;
  for (const entry of entries) {
    const accountId = idOf(entry.id, fingerprint);
    const entryTime = normaliseTimestamp(entry.time);
    for (const channel of CHANNELS) {
      const items = entry[channel];
      if (!Array.isArray(items)) continue;
      for (const item of items) {
        try {
          events.push(
            channel === 'changes'
              ? readChange(item, provider, accountId, entryTime, fingerprint)
              : readMessagingItem(item, channel, provider, accountId, entryTime, fingerprint),
          );
        } catch {
          unreadableItems += 1;
        }
      }
    }
  }
  return { events, unreadableItems };
}

function readMessagingItem(
  item: unknown,
  channel: EventChannel,
  provider: Provider,
  accountId: string | null,
  entryTime: Date | null,
  fingerprint: Fingerprint,
): ParsedEvent {
  const event = isObject(item) ? item : {};
  const senderId = isObject(event.sender) ? idOf(event.sender.id, fingerprint) : null;
  const recipientId = isObject(event.recipient) ? idOf(event.recipient.id, fingerprint) : null;
  const occurredAt = normaliseTimestamp(event.timestamp) ?? entryTime;
  const make = (kind: EventKind, metaMessageId: string | null, keyId: string | null): ParsedEvent => ({
    kind,
    channel,
    idempotencyKey: keyOf(`${provider}:${kind}`, keyId ?? itemFingerprint(item, fingerprint), fingerprint),
    accountId,
    senderId,
    recipientId,
    metaMessageId,
    occurredAt,
    payload: item,
  });
  const midOf = (holder: Json) => idOf(holder.mid, fingerprint);

  if (isObject(event.message)) {
    const message = event.message;
    const mid = midOf(message);
    if (message.is_deleted === true) return make('message_deleted', mid, mid);
    if (message.is_echo === true) return make('message_echo', mid, mid);
    return make('message', mid, mid);
  }
  if (isObject(event.message_edit)) {
    const mid = midOf(event.message_edit);
    const edits = idOf(event.message_edit.num_edit, fingerprint) ?? '0';
    return make('message_edit', mid, mid && `${mid}:${edits}`);
  }
  if (isObject(event.reaction)) {
    const reaction = event.reaction;
    const mid = midOf(reaction);
    const action = labelOf(reaction.action, 'react', fingerprint);
    // One message can be reacted to, un-reacted and reacted again: the key needs more than the mid.
    const key = mid && `${mid}:${senderId}:${action}:${occurredAt?.getTime() ?? ''}`;
    return make('reaction', mid, key);
  }
  if (isObject(event.read)) {
    const mid = midOf(event.read);
    const mark = mid ?? idOf(event.read.watermark, fingerprint);
    return make('read', mid, mark && `${mark}:${senderId}`);
  }
  if (isObject(event.postback)) {
    const mid = midOf(event.postback);
    return make('postback', mid, mid);
  }
  if (isObject(event.referral)) return make('referral', null, null);
  return make('unknown', null, null);
}

function readChange(
  item: unknown,
  provider: Provider,
  accountId: string | null,
  entryTime: Date | null,
  fingerprint: Fingerprint,
): ParsedEvent {
  const change = isObject(item) ? item : {};
  const field = labelOf(change.field, 'unknown', fingerprint);
  const value = isObject(change.value) ? change.value : {};
  const valueId = idOf(value.id, fingerprint);
  const isComment = field === 'comments' || field === 'live_comments';
  const kind: EventKind = isComment ? 'comment' : 'change';
  // The dashboard's test event has id "0": never let it share a key with a real object.
  const keyId = valueId && valueId !== '0' ? valueId : itemFingerprint(item, fingerprint);
  const senderId = isObject(value.from) ? idOf(value.from.id, fingerprint) : null;
  return {
    kind,
    channel: 'changes',
    idempotencyKey: keyOf(`${provider}:${kind}`, `${isComment ? '' : `${field}:`}${keyId}`, fingerprint),
    accountId,
    senderId,
    recipientId: accountId,
    metaMessageId: isComment ? valueId : null,
    occurredAt: normaliseTimestamp(value.timestamp) ?? normaliseTimestamp(change.time) ?? entryTime,
    payload: item,
  };
}
