/** Endpoint filters: an exact type, `*` (everything) or a `prefix.*` wildcard. */
export const EVENT_FILTER_PATTERN = /^(\*|[a-z0-9_-]+(\.[a-z0-9_-]+)*(\.\*)?)$/i;

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
