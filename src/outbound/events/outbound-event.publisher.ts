import { Injectable } from '@nestjs/common';
import { AuditAction } from '../../audit/audit-actions';
import { DataCipher, sealedIn } from '../../platform/crypto/data-cipher';
import { uuidv7 } from '../../platform/crypto/ids';
import { DeliveryDispatcher } from '../delivery/delivery.dispatcher';
import { DeliveryRepository, StoredFanout, TriggerResult } from '../delivery/delivery.repository';
import { PRIORITIES } from '../delivery/priority';
import { currentTraceParent } from '../../platform/tracing/tracing';
import { filtersMatching } from '../endpoints/event-filters';

export interface PublishRequest {
  eventType: string;
  data: unknown;
  tenantId?: string | null;
  /** 1 (low) to 20 (urgent). */
  priority?: number;
  deliverAt?: Date | null;
  idempotencyKey?: string | null;
  /** Who publishes: an API key's name, or `system` for Switchboard's own events. */
  publisher: string;
  correlationId?: string | null;
  /** Endpoint filters that select it, instead of those of its type (its type, `*`, `prefix.*`). */
  filters?: string[];
}

/** Up to this many endpoints, a batch publish queues the deliveries itself; larger fan-outs are streamed by the dispatcher. */
const INLINE_FANOUT = 1000;

/** One of many small events published together (Switchboard's own, e.g. one per inbound message). */
export interface SystemEventRequest {
  data: unknown;
  idempotencyKey: string;
  correlationId: string | null;
  /** The trace it belongs to (the processing job's), captured before it joined a batch. */
  traceParent?: string | null;
}

/** Publishes an outbound event to every matching endpoint: stored and fanned out at once, dispatched in the background. */
@Injectable()
export class OutboundEventPublisher {
  constructor(
    private readonly cipher: DataCipher,
    private readonly deliveries: DeliveryRepository,
    private readonly dispatcher: DeliveryDispatcher,
  ) {}

  async publish(request: PublishRequest): Promise<TriggerResult> {
    const id = uuidv7();
    const priority = request.priority ?? PRIORITIES.normal;
    const result = await this.deliveries.trigger(
      {
        id,
        eventType: request.eventType,
        tenantId: request.tenantId ?? null,
        priority,
        deliverAt: request.deliverAt ?? null,
        dataSealed: this.cipher.encrypt(JSON.stringify(request.data ?? null), sealedIn('outbound_events.data', id)),
        publisher: request.publisher,
        idempotencyKey: request.idempotencyKey ?? null,
        correlationId: request.correlationId ?? null,
        traceParent: currentTraceParent(),
      },
      request.filters ?? filtersMatching(request.eventType),
      {
        action: AuditAction.OutboundEventTriggered,
        outcome: 'success',
        eventId: id,
        correlationId: request.correlationId ?? null,
        actor: request.publisher,
        metadata: { eventType: request.eventType, priority, tenantId: request.tenantId ?? null },
      },
    );
    if (!result.duplicate && result.endpointCount > 0) {
      void this.dispatcher.dispatch({
        id: result.eventId,
        priority: result.priority,
        deliverAt: result.deliverAt,
        dispatchCursor: '0',
      });
    }
    return result;
  }

  /**
   * Publishes many events of one type as `system` at normal priority: one statement stores them, their
   * fan-outs and their audit entries, and one `addBulk` queues their deliveries. Known idempotency keys are
   * skipped. Resolves once the deliveries are queued (or left to the relay).
   */
  async publishMany(eventType: string, requests: readonly SystemEventRequest[]): Promise<StoredFanout[]> {
    const priority = PRIORITIES.normal;
    const stored = await this.deliveries.triggerMany(
      requests.map((request) => {
        const id = uuidv7();
        return {
          id,
          dataSealed: this.cipher.encrypt(JSON.stringify(request.data ?? null), sealedIn('outbound_events.data', id)),
          idempotencyKey: request.idempotencyKey,
          correlationId: request.correlationId,
          traceParent: request.traceParent ?? null,
        };
      }),
      { eventType, priority, publisher: 'system', filters: filtersMatching(eventType), inlineFanout: INLINE_FANOUT },
    );
    const inline = stored.filter((event) => event.deliveryIds !== null && event.endpointCount > 0);
    for (const event of stored.filter((candidate) => candidate.deliveryIds === null)) {
      void this.dispatcher.dispatch({ id: event.eventId, priority, deliverAt: null, dispatchCursor: '0' });
    }
    if (inline.length > 0) {
      // Stored and fanned out: from here the relay finishes the job if Redis refuses it now.
      await this.dispatcher
        .queueDeliveries(
          inline.map((event) => ({ id: event.eventId, deliveryIds: event.deliveryIds as string[] })),
          priority,
        )
        .catch(() => undefined);
    }
    return stored;
  }
}
