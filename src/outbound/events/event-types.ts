/** Event types: dot-separated lower-case words, e.g. `instagram.message.received`. */
export const EVENT_TYPE_PATTERN = /^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/i;
/** Endpoint filters: an exact type, `*` (everything) or a `prefix.*` wildcard. */
export const EVENT_FILTER_PATTERN = /^(\*|[a-z0-9_-]+(\.[a-z0-9_-]+)*(\.\*)?)$/i;

/** Operational events Switchboard itself publishes. */
export const OutboundEventType = {
  EndpointDisabled: 'endpoint.disabled',
  InstagramMessageReceived: 'instagram.message.received',
} as const;

/**
 * Every filter that selects `eventType`: the type, `*`, and each `prefix.*` above it. The fan-out then
 * matches endpoints with one indexed `event_types && $filters`.
 */
export function filtersMatching(eventType: string): string[] {
  const parts = eventType.split('.');
  const filters = [eventType, '*'];
  for (let i = 1; i < parts.length; i++) filters.push(`${parts.slice(0, i).join('.')}.*`);
  return filters;
}

export const PRIORITIES = { low: 1, normal: 5, high: 10, urgent: 20 } as const;
export type PriorityName = keyof typeof PRIORITIES;

/** BullMQ serves the lowest number first; ours grow with urgency. */
export function queuePriority(priority: number): number {
  return Math.max(1, 21 - priority);
}
