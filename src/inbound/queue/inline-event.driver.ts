import { Injectable, Logger } from '@nestjs/common';
import { InboundEventHandler } from '../processing/inbound-event.handler';
import { QueueableEvent } from '../store/inbound-event.repository';
import { InboundEventQueue } from './inbound-event.queue';

/** USE_QUEUE=false: one attempt, in the request. A transient failure leaves the event for the relay. */
@Injectable()
export class InlineEventDriver extends InboundEventQueue {
  private readonly logger = new Logger(InlineEventDriver.name);

  constructor(private readonly handler: InboundEventHandler) {
    super();
  }

  async enqueue(events: readonly QueueableEvent[]): Promise<void> {
    for (const { id: eventId } of events) {
      await this.handler
        .handle(eventId, { attempt: 1, finalAttempt: false, jobId: null })
        .catch((error: unknown) =>
          this.logger.warn({ msg: 'inline processing failed', eventId, error: (error as Error)?.message }),
        );
    }
  }
}
