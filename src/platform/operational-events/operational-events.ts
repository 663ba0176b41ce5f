/** The operational events Switchboard publishes about itself, through its own outbound webhooks. */
export const OperationalEventType = {
  EndpointDisabled: 'switchboard.endpoint.disabled',
  DeliveryExhausted: 'switchboard.delivery.exhausted',
  DeadLettersThresholdExceeded: 'switchboard.dead_letters.threshold_exceeded',
  AccountNeedsToken: 'switchboard.account.needs_token',
  AccountTokenRefreshFailed: 'switchboard.account.token_refresh_failed',
  IngestDegraded: 'switchboard.ingest.degraded',
} as const;

/** The type `switchboard.endpoint.disabled` had before it moved under `switchboard.`: its subscribers keep it. */
export const LEGACY_ENDPOINT_DISABLED = 'endpoint.disabled';

/** Whether an outbound event is one of Switchboard's own: its failed deliveries raise no operational event. */
export function isOperationalEvent(eventType: string): boolean {
  return eventType.startsWith('switchboard.') || eventType === LEGACY_ENDPOINT_DISABLED;
}

/** Ids, counts, categories and times only: never content. */
export type OperationalEvent =
  | {
      type: typeof OperationalEventType.EndpointDisabled;
      data: { endpointId: string; reason: string; lastCategory: string; consecutiveFailures: number };
    }
  | {
      type: typeof OperationalEventType.DeliveryExhausted;
      data: {
        endpointId: string;
        deliveryId: string;
        eventId: string;
        eventType: string;
        category: string;
        attempts: number;
        responseCode: number | null;
      };
    }
  | { type: typeof OperationalEventType.DeadLettersThresholdExceeded; data: { pending: number; threshold: number } }
  | { type: typeof OperationalEventType.AccountNeedsToken; data: { provider: string; accountId: string; since: string } }
  | {
      type: typeof OperationalEventType.AccountTokenRefreshFailed;
      data: { provider: string; accountId: string; category: string; tokenExpiresAt: string | null };
    }
  | { type: typeof OperationalEventType.IngestDegraded; data: { backlog: number; limit: number; holding: boolean } };

/**
 * What makes one event per incident rather than one per symptom: every process that sees the incident
 * raises it under the same key, and only the first within `forSeconds` (or until `resolved`) is published.
 */
export interface Incident {
  key: string;
  forSeconds: number;
  correlationId?: string | null;
}

/**
 * Raises operational events. Rooms below outbound tell it what happened; outbound implements it (the event
 * is an outbound event like any other: stored, fanned out to `switchboard.*` subscribers, signed) and the
 * composition binds it once (OperationalEventsModule). Never rejects: an incident is logged either way.
 */
export abstract class OperationalEvents {
  abstract raise(event: OperationalEvent, incident: Incident): Promise<void>;
  /** The incident is over: the next one under this key is published again. */
  abstract resolved(key: string): Promise<void>;
}
