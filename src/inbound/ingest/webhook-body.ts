import { DataCipher, sealedIn } from '../../platform/crypto/data-cipher';
import { uuidv7 } from '../../platform/crypto/ids';
import {
  ChannelProvider,
  MalformedEnvelopeError,
  MalformedReason,
  ParsedEnvelope,
  ParsedEvent,
} from '../../providers/channel-provider';
import { readJsonBody } from '../../providers/meta/payload-reading';

export interface SealedEvent extends ParsedEvent {
  /** The row's id, made here: the payload is sealed for it. */
  id: string;
  /** Null when the event is the body's only item: the sealed body is its payload (see payloadOfOnlyEvent). */
  sealedPayload: Buffer | null;
  /** How many more times the same idempotency key came in this body (folded into this event). */
  repeats: number;
  /** BullMQ priority (VIP senders), set by the caller. */
  priority?: number;
}

export interface ReadWebhookBody {
  /** One per idempotency key, payload sealed. */
  events: SealedEvent[];
  /** Set when some or all of the body cannot become events: the receipt is dead-lettered as `malformed`. */
  parseError: MalformedReason | null;
  /** Items the body carried: events, their repeats and unreadable items. */
  itemCount: number;
}

/**
 * A signed body, read into sealed events. Never throws: whatever the bytes hold, the answer is events,
 * a `malformed` reason, or both (an item too deep to serialise is left out and the body dead-lettered,
 * while its neighbours are stored). Repeats of a key inside the body are folded before the statement.
 */
export function readWebhookBody(
  provider: Pick<ChannelProvider, 'parse'>,
  rawBody: Buffer,
  cipher: DataCipher,
): ReadWebhookBody {
  let envelope: ParsedEnvelope;
  try {
    envelope = provider.parse(readJsonBody(rawBody), (value) => cipher.fingerprint(value));
  } catch (error) {
    const parseError = error instanceof MalformedEnvelopeError ? error.reason : 'parser_error';
    return { events: [], parseError, itemCount: 0 };
  }
  let unreadable = envelope.unreadableItems;
  if (envelope.events.length === 1 && unreadable === 0) {
    // The body is this event's payload: it is stored (sealed) once, as the receipt's body.
    const only = envelope.events[0] as SealedEvent;
    only.id = uuidv7();
    only.sealedPayload = null;
    only.repeats = 0;
    return { events: [only], parseError: null, itemCount: 1 };
  }
  const events: SealedEvent[] = [];
  const byKey = envelope.events.length > 1 ? new Map<string, SealedEvent>() : null;
  for (const event of envelope.events) {
    const first = byKey?.get(event.idempotencyKey);
    if (first) {
      first.repeats += 1;
      continue;
    }
    let sealedPayload: Buffer;
    const id = uuidv7();
    try {
      sealedPayload = cipher.encryptJson(event.payload, sealedIn('inbound_events.payload', id));
    } catch {
      unreadable += 1;
      continue;
    }
    // Extended in place: a copy of each event would cost as much as reading it.
    const sealed = event as SealedEvent;
    sealed.id = id;
    sealed.sealedPayload = sealedPayload;
    sealed.repeats = 0;
    events.push(sealed);
    byKey?.set(event.idempotencyKey, sealed);
  }
  return {
    events,
    parseError: unreadable > 0 ? 'unreadable_items' : null,
    itemCount: envelope.events.length + envelope.unreadableItems,
  };
}
