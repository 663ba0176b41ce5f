import { EventChannel, EventKind, MalformedEnvelopeError, ParsedEvent, Provider } from '../channel-provider';
import { Fingerprint, idOf, isObject, normaliseTimestamp } from './payload-reading';

/**
 * Reads every event out of a Messenger-platform envelope (Instagram and Facebook share it):
 * `entry[].messaging[]`, `entry[].standby[]` and `entry[].changes[]`.
 */
export function parseMetaEnvelope(
  body: unknown,
  provider: Provider,
  expectedObject: string,
  fingerprint: Fingerprint,
): ParsedEvent[] {
  if (!isObject(body) || !Array.isArray(body.entry)) throw new MalformedEnvelopeError('not_an_envelope');
  if (body.object !== expectedObject) throw new MalformedEnvelopeError('wrong_object');

  const events: ParsedEvent[] = [];
  for (const entry of body.entry) {
    if (!isObject(entry)) continue;
    const accountId = idOf(entry.id);
    const entryTime = normaliseTimestamp(entry.time);
    for (const channel of ['messaging', 'standby'] as const) {
      const items = entry[channel];
      if (!Array.isArray(items)) continue;
      for (const item of items)
        events.push(readMessagingItem(item, channel, provider, accountId, entryTime, fingerprint));
    }
    if (Array.isArray(entry.changes)) {
      for (const change of entry.changes) events.push(readChange(change, provider, accountId, entryTime, fingerprint));
    }
  }
  return events;
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
  const senderId = isObject(event.sender) ? idOf(event.sender.id) : null;
  const recipientId = isObject(event.recipient) ? idOf(event.recipient.id) : null;
  const occurredAt = normaliseTimestamp(event.timestamp) ?? entryTime;
  const make = (kind: EventKind, metaMessageId: string | null, keyId: string | null): ParsedEvent => ({
    kind,
    channel,
    idempotencyKey: `${provider}:${kind}:${keyId ?? `fp-${fingerprint(JSON.stringify(item))}`}`,
    accountId,
    senderId,
    recipientId,
    metaMessageId,
    occurredAt,
    payload: item,
  });

  if (isObject(event.message)) {
    const message = event.message;
    const mid = idOf(message.mid);
    if (message.is_deleted === true) return make('message_deleted', mid, mid);
    if (message.is_echo === true) return make('message_echo', mid, mid);
    return make('message', mid, mid);
  }
  if (isObject(event.message_edit)) {
    const mid = idOf(event.message_edit.mid);
    const edits = idOf(event.message_edit.num_edit) ?? '0';
    return make('message_edit', mid, mid && `${mid}:${edits}`);
  }
  if (isObject(event.reaction)) {
    const reaction = event.reaction;
    const mid = idOf(reaction.mid);
    // One message can be reacted to, un-reacted and reacted again: the key needs more than the mid.
    const key = mid && `${mid}:${senderId}:${String(reaction.action ?? 'react')}:${occurredAt?.getTime() ?? ''}`;
    return make('reaction', mid, key);
  }
  if (isObject(event.read)) {
    const mid = idOf(event.read.mid);
    const mark = mid ?? idOf(event.read.watermark);
    return make('read', mid, mark && `${mark}:${senderId}`);
  }
  if (isObject(event.postback)) {
    const mid = idOf(event.postback.mid);
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
  const field = typeof change.field === 'string' ? change.field : 'unknown';
  const value = isObject(change.value) ? change.value : {};
  const valueId = idOf(value.id);
  const isComment = field === 'comments' || field === 'live_comments';
  const kind: EventKind = isComment ? 'comment' : 'change';
  // The dashboard's test event has id "0": never let it share a key with a real object.
  const keyId = valueId && valueId !== '0' ? valueId : `fp-${fingerprint(JSON.stringify(item))}`;
  const senderId = isObject(value.from) ? idOf(value.from.id) : null;
  return {
    kind,
    channel: 'changes',
    idempotencyKey: `${provider}:${kind}:${isComment ? '' : `${field}:`}${keyId}`,
    accountId,
    senderId,
    recipientId: accountId,
    metaMessageId: isComment ? valueId : null,
    occurredAt: normaliseTimestamp(value.timestamp) ?? normaliseTimestamp(change.time) ?? entryTime,
    payload: item,
  };
}
