import { Injectable } from '@nestjs/common';
import { accountHold } from '../../accounts/account.sql';
import { Sql } from '../../platform/database/sql';

export interface HeldCount {
  provider: string;
  accountId: string;
  held: number;
}

/** A held reply given its send slot: its event's job must run at `notBefore`. */
export interface ReleasedReply {
  eventId: string;
  priority: number;
  /** How many times it was released: part of its job id (the event's earlier job may still be in Redis). */
  releases: number;
  notBefore: Date;
}

/**
 * A released reply whose slot passed this long ago without a job taking it lost its job (the process died
 * between the release and the enqueue, or Redis refused it): it is released again.
 */
export const RELEASE_LOST_AFTER_SECONDS = 60;

/** Replies held by their account: how many, and their release. Processing owns the replies table. */
@Injectable()
export class HeldReplyRepository {
  constructor(private readonly db: Sql) {}

  async countsByAccount(): Promise<HeldCount[]> {
    return this.db.query<HeldCount>(
      `SELECT c.provider, c.account_id AS "accountId", count(*)::int AS held
         FROM replies r JOIN conversations c ON c.id = r.conversation_id
        WHERE r.status = 'held'
        GROUP BY c.provider, c.account_id
        ORDER BY c.provider, c.account_id`,
    );
  }

  /** Accounts that hold no more but still have held replies not given a slot (or whose slot's job was lost). */
  async releasable(limit: number): Promise<Array<{ provider: string; accountId: string }>> {
    return this.db.query(
      `SELECT DISTINCT c.provider, c.account_id AS "accountId"
         FROM replies r
         JOIN conversations c ON c.id = r.conversation_id
         JOIN inbound_events e ON e.id = r.event_id
        WHERE r.status = 'held' AND ${releasable('r', 'e')} AND ${accountHold('c.provider', 'c.account_id')} IS NULL
        LIMIT $1`,
      [limit],
    );
  }

  /**
   * Gives the next `limit` held replies of an account that no longer holds them a send slot each, oldest
   * event first; `slots(n)` reserves n slots in order. One releaser per account at a time (an advisory lock),
   * so slots follow arrival order across processes; null when another one is at it. The replies stay
   * `held` until their job takes them, so a lost job is found again.
   */
  async releaseBatch(
    provider: string,
    accountId: string,
    limit: number,
    slots: (count: number) => Promise<Date[]>,
  ): Promise<ReleasedReply[] | null> {
    return this.db.transaction(async (client) => {
      const lock = await client.query<{ locked: boolean }>(
        `SELECT pg_try_advisory_xact_lock(hashtextextended('release-held:' || $1 || ':' || $2, 0)) AS locked`,
        [provider, accountId],
      );
      if (!lock.rows[0]?.locked) return null;
      const picked = await client.query<{ id: string }>(
        `SELECT r.id
           FROM replies r
           JOIN conversations c ON c.id = r.conversation_id
           JOIN inbound_events e ON e.id = r.event_id
          WHERE r.status = 'held' AND c.provider = $1 AND c.account_id = $2 AND ${releasable('r', 'e')}
            AND ${accountHold('c.provider', 'c.account_id')} IS NULL
          ORDER BY e.received_at, e.id
          LIMIT $3`,
        [provider, accountId, limit],
      );
      if (picked.rows.length === 0) return [];
      const reserved = await slots(picked.rows.length);
      const released = await client.query<{ event_id: string; priority: number; releases: number; not_before: Date }>(
        `UPDATE replies r SET not_before = s.slot, released_at = now(), releases = r.releases + 1, updated_at = now()
           FROM unnest($1::uuid[], $2::timestamptz[]) AS s(id, slot), inbound_events e
          WHERE r.id = s.id AND r.status = 'held' AND e.id = r.event_id
          RETURNING r.event_id, e.priority, r.releases, r.not_before`,
        [picked.rows.map((row) => row.id), reserved],
      );
      return released.rows
        .sort((a, b) => a.not_before.getTime() - b.not_before.getTime())
        .map((row) => ({
          eventId: row.event_id,
          priority: row.priority,
          releases: row.releases,
          notBefore: row.not_before,
        }));
    });
  }
}

/**
 * Not yet given a slot, or given one whose job never came; and still wanted (its event unfinished: a job
 * for a finished event does nothing, and the reply would be released again and again).
 */
function releasable(r: string, e: string): string {
  return `(${r}.released_at IS NULL OR ${r}.not_before < now() - make_interval(secs => ${RELEASE_LOST_AFTER_SECONDS}))
          AND ${e}.status IN ('received', 'processing')`;
}
