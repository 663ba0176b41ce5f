import { QueueableEvent } from '../store/inbound-event.repository';

/**
 * Where the ingest hands the events it stored: the BullMQ queue (BullMqEventDriver), or processing them at
 * once in the request when USE_QUEUE=false (InlineEventDriver). The composition picks one; the ingest never
 * asks which. It never rejects: what it cannot take stays in the outbox for the relay.
 */
export abstract class InboundEventQueue {
  abstract enqueue(events: readonly QueueableEvent[]): Promise<void>;
}
