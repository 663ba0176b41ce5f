import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { QueueableEvent } from '../store/inbound-event.repository';
import { BacklogMonitor } from './backlog-monitor';
import { InboundEventProducer } from './inbound-event.producer';
import { InboundEventQueue } from './inbound-event.queue';

/** The queue as it normally runs: within the backlog limit, enqueued in the background. */
@Injectable()
export class BullMqEventDriver extends InboundEventQueue implements OnModuleDestroy {
  private readonly backgroundEnqueues = new Set<Promise<unknown>>();

  constructor(
    private readonly producer: InboundEventProducer,
    private readonly backlog: BacklogMonitor,
  ) {
    super();
  }

  async enqueue(events: readonly QueueableEvent[]): Promise<void> {
    // Over INGEST_BACKLOG_LIMIT the rest stay stored but un-queued: the relay enqueues them as the backlog drains.
    const admitted = events.slice(0, this.backlog.admit(events.length));
    if (admitted.length === 0) return;
    // The events are durable; the acknowledgement does not wait for Redis.
    const enqueue = this.producer.enqueue(admitted);
    this.backgroundEnqueues.add(enqueue);
    void enqueue.finally(() => this.backgroundEnqueues.delete(enqueue));
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.allSettled([...this.backgroundEnqueues]);
  }
}
