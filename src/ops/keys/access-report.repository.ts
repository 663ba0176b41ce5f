import { Injectable } from '@nestjs/common';
import { Sql } from '../../platform/database/sql';

export interface AccessEntry {
  id: string;
  occurredAt: Date;
  action: string;
  outcome: string;
  actor: string;
  reason: string | null;
  eventId: string | null;
  correlationId: string | null;
}

/** Reads the audit log for one patient: entries that name their fingerprint, or one of their events. */
@Injectable()
export class AccessReportRepository {
  constructor(private readonly db: Sql) {}

  /**
   * `ids`: the patient's id and its fingerprint (their events carry the fingerprint after an erasure).
   * Newest first.
   */
  async accesses(
    provider: string,
    ids: readonly string[],
    fingerprint: string,
    actions: readonly string[],
    limit: number,
  ): Promise<AccessEntry[]> {
    return this.db.query<AccessEntry>(
      `WITH theirs AS (
         SELECT id FROM inbound_events WHERE provider = $1 AND (sender_id = ANY($2::text[]) OR recipient_id = ANY($2::text[]))
       )
       SELECT a.id::text AS id, a.occurred_at AS "occurredAt", a.action, a.outcome, a.actor,
              a.metadata->>'reason' AS reason, a.event_id AS "eventId", a.correlation_id AS "correlationId"
         FROM audit_log a
        WHERE a.action = ANY($4::text[])
          AND (a.provider = $1 OR a.provider IS NULL)
          AND (a.metadata->>'participant' = $3
               OR (a.action = 'participant.erased' AND a.metadata->>'fingerprint' = $3)
               OR a.event_id IN (SELECT id FROM theirs))
        ORDER BY a.occurred_at DESC, a.id DESC
        LIMIT $5`,
      [provider, ids, fingerprint, actions, limit],
    );
  }
}
