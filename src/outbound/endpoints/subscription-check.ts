import { Injectable } from '@nestjs/common';
import { Sql } from '../../platform/database/sql';
import { filtersMatching } from './event-filters';

const FRESH_FOR_MS = 1000;

/**
 * Whether any active endpoint subscribes to an event type, cached for a second. Switchboard's own events
 * (one per processed message) skip the trigger's transaction when nobody listens. Endpoint changes made
 * through this process take effect at once; those made through another within a second.
 */
@Injectable()
export class SubscriptionCheck {
  private readonly known = new Map<string, { subscribed: boolean; until: number }>();

  constructor(private readonly db: Sql) {}

  async anyFor(eventType: string): Promise<boolean> {
    const cached = this.known.get(eventType);
    if (cached && cached.until > Date.now()) return cached.subscribed;
    const row = await this.db.one<{ subscribed: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM outbound_endpoints WHERE status = 'active' AND event_types && $1::text[]) AS subscribed`,
      [filtersMatching(eventType)],
    );
    const subscribed = row?.subscribed ?? true;
    // One entry per event type asked about: bounded, like the other caches.
    if (this.known.size >= 10_000) this.known.clear();
    this.known.set(eventType, { subscribed, until: Date.now() + FRESH_FOR_MS });
    return subscribed;
  }

  /** An endpoint was created, changed or re-enabled here. */
  forget(): void {
    this.known.clear();
  }
}
