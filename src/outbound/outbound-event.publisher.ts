import { Injectable } from '@nestjs/common';
import { AuditAction } from '../audit/audit-actions';
import { DataCipher } from '../common/data-cipher';
import { uuidv7 } from '../common/ids';
import { DeliveryDispatcher } from './delivery.dispatcher';
import { DeliveryRepository, TriggerResult } from './delivery.repository';
import { filtersMatching, PRIORITIES } from './event-types';

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
        dataSealed: this.cipher.encrypt(JSON.stringify(request.data ?? null)),
        publisher: request.publisher,
        idempotencyKey: request.idempotencyKey ?? null,
        correlationId: request.correlationId ?? null,
      },
      filtersMatching(request.eventType),
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
        deliver_at: result.deliverAt,
        dispatch_cursor: '0',
      });
    }
    return result;
  }
}
