import { Injectable, Logger } from '@nestjs/common';
import { EndpointDisabledNotice, EndpointEvents } from '../delivery/endpoint-events.port';
import { OutboundEventType } from './event-types';
import { OutboundEventPublisher } from './outbound-event.publisher';

/** `endpoint.disabled` to whoever subscribes to it, through the outbound system itself. */
@Injectable()
export class EndpointEventsPublisher extends EndpointEvents {
  private readonly logger = new Logger(EndpointEventsPublisher.name);

  constructor(private readonly publisher: OutboundEventPublisher) {
    super();
  }

  async disabled(notice: EndpointDisabledNotice): Promise<void> {
    await this.publisher
      .publish({
        eventType: OutboundEventType.EndpointDisabled,
        data: {
          endpointId: notice.endpointId,
          reason: notice.reason,
          lastCategory: notice.lastCategory,
          consecutiveFailures: notice.consecutiveFailures,
          disabledAt: new Date().toISOString(),
        },
        publisher: 'system',
        idempotencyKey: `endpoint.disabled:${notice.endpointId}:${notice.deliveryId}:${notice.attempt}`,
        correlationId: notice.correlationId,
      })
      .catch((error: unknown) =>
        this.logger.warn({ msg: 'could not publish endpoint.disabled', error: (error as Error)?.name }),
      );
  }
}
