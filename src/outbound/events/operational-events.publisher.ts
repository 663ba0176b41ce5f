import { Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../../platform/config/app-config';
import {
  Incident,
  LEGACY_ENDPOINT_DISABLED,
  OperationalEvent,
  OperationalEvents,
  OperationalEventType,
} from '../../platform/operational-events/operational-events';
import { RedisConnections } from '../../platform/redis/redis-connections';
import { PRIORITIES } from '../delivery/priority';
import { OutboundEventPublisher } from './outbound-event.publisher';

/**
 * Publishes operational events as outbound events from `system`, so an endpoint subscribed to
 * `switchboard.*` (or one type) gets them signed like any delivery. One per incident: the first process
 * to raise it takes a Redis key (SET NX with the incident's lifetime); if Redis is away, the outbound
 * event's idempotency key (the incident and its time window) still stops repeats within the window.
 */
@Injectable()
export class OperationalEventsPublisher extends OperationalEvents {
  private readonly logger = new Logger(OperationalEventsPublisher.name);

  constructor(
    private readonly config: AppConfig,
    private readonly publisher: OutboundEventPublisher,
    private readonly redis: RedisConnections,
  ) {
    super();
  }

  async raise(event: OperationalEvent, incident: Incident): Promise<void> {
    this.logger.warn({ msg: 'operational event', type: event.type, ...event.data, incident: incident.key });
    if (!(await this.firstToRaise(incident))) return;
    const window = Math.floor(Date.now() / (incident.forSeconds * 1000));
    const occurredAt = new Date().toISOString();
    // `disabledAt` as endpoint.disabled always carried it.
    const data =
      event.type === OperationalEventType.EndpointDisabled
        ? { ...event.data, occurredAt, disabledAt: occurredAt }
        : { ...event.data, occurredAt };
    const publish = (eventType: string, filters?: string[]) =>
      this.publisher
        .publish({
          eventType,
          data,
          filters,
          priority: PRIORITIES.high,
          publisher: 'system',
          idempotencyKey: `${eventType}:${incident.key}:${window}`,
          correlationId: incident.correlationId ?? null,
        })
        .catch((error: unknown) =>
          this.logger.warn({
            msg: 'could not publish an operational event',
            type: eventType,
            error: (error as Error)?.name,
          }),
        );
    await publish(event.type);
    if (event.type === OperationalEventType.EndpointDisabled) {
      // Subscribers of the old type keep getting it; those of `*` or `switchboard.*` get the new one only.
      await publish(LEGACY_ENDPOINT_DISABLED, [LEGACY_ENDPOINT_DISABLED, 'endpoint.*']);
    }
  }

  async resolved(key: string): Promise<void> {
    await this.redis.failFast.del(this.incidentKey(key)).catch(() => undefined);
  }

  private async firstToRaise(incident: Incident): Promise<boolean> {
    try {
      const set = await this.redis.failFast.set(this.incidentKey(incident.key), '1', 'EX', incident.forSeconds, 'NX');
      return set === 'OK';
    } catch {
      return true;
    }
  }

  private incidentKey(key: string): string {
    return `${this.config.queuePrefix}:incident:${key}`;
  }
}
