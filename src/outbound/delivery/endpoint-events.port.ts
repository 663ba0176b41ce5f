/** An endpoint the circuit breaker (or a 410) just disabled. Ids and counts only. */
export interface EndpointDisabledNotice {
  endpointId: string;
  reason: string;
  lastCategory: string;
  consecutiveFailures: number;
  /** The delivery and attempt that disabled it: the notice's idempotency key. */
  deliveryId: string;
  attempt: number;
  correlationId: string | null;
}

/**
 * Tells subscribers about their endpoints. Delivery decides when; outbound/events publishes it (delivery
 * sits below events, which queue their deliveries through it). Never rejects.
 */
export abstract class EndpointEvents {
  abstract disabled(notice: EndpointDisabledNotice): Promise<void>;
}
