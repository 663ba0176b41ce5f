import { Injectable } from '@nestjs/common';
import { AuditAction } from '../../audit/audit-actions';
import { auditRows, insertAudit } from '../../audit/audit-sql';
import {
  markEventLettersReplayed,
  markReceiptLetterReplayed,
  revertLettersReplayed,
} from '../../dead-letters/dead-letter.sql';
import { Sql } from '../../platform/database/sql';
import { repliesBackToFailed, repliesBackToRetrying } from '../processing/conversation.sql';
import {
  EventRow,
  eventRowParams,
  eventsBackToFailed,
  eventsBackToReceived,
  markReceiptParsed,
  storeEvents,
} from '../store/event-store.sql';

export interface ReplayedLetter {
  id: string;
  eventId: string;
  replayCount: number;
  priority: number;
}

/** Replays as single statements, each made of the owners' parts: the letters, the events, the replies, the audit. */
@Injectable()
export class ReplayRepository {
  constructor(private readonly db: Sql) {}

  /**
   * Puts pending event dead letters back in the pipeline, in one statement: each letter marked replayed,
   * its event back to `received` (not in the outbox: the paced replay enqueues it, not the relay), a failed
   * reply back to `retrying` (a sent one is never touched), and one audit entry per letter. Locked rows are skipped.
   */
  async markReplayed(ids: readonly string[], actor: string, bulkReplayId: string | null): Promise<ReplayedLetter[]> {
    if (ids.length === 0) return [];
    return this.db.query<ReplayedLetter>(
      `WITH ${markEventLettersReplayed('$1')}, events AS (
         ${eventsBackToReceived('marked')}
       ), replies AS (
         ${repliesBackToRetrying('marked')}
       ), audited AS (
         ${insertAudit(
           auditRows(
             {
               action: `'${AuditAction.DeadLetterReplayed}'`,
               outcome: `'success'`,
               provider: 'm.provider',
               event_id: 'm.event_id',
               correlation_id: 'm.correlation_id',
               actor: '$2',
               metadata: `jsonb_strip_nulls(jsonb_build_object('deadLetterId', m.id, 'replayCount', m.replay_count,
                                                     'category', m.category, 'bulkReplayId', $3::text))`,
             },
             'FROM marked m',
           ),
         )}
       )
       SELECT m.id, m.event_id AS "eventId", m.replay_count AS "replayCount", e.priority
         FROM marked m JOIN inbound_events e ON e.id = m.event_id`,
      [ids, actor, bulkReplayId],
    );
  }

  /** Each event's kind, provider and receipt time (the time its patient wrote, for the reply window). */
  events(ids: readonly string[]): Promise<Array<{ id: string; kind: string; provider: string; receivedAt: Date }>> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.db.query(
      `SELECT id, kind, provider, received_at AS "receivedAt" FROM inbound_events WHERE id = ANY($1::uuid[])`,
      [ids],
    );
  }

  /** The replayed event letters among the ids, and whether each one's event still waits to be processed. */
  replayedUnprocessed(ids: readonly string[]): Promise<Array<ReplayedLetter & { unprocessed: boolean }>> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.db.query(
      `SELECT d.id, d.event_id AS "eventId", d.replay_count AS "replayCount", e.priority,
              e.status IN ('received', 'processing') AS unprocessed
         FROM dead_letters d JOIN inbound_events e ON e.id = d.event_id
        WHERE d.id = ANY($1::uuid[]) AND d.status = 'replayed'`,
      [ids],
    );
  }

  /**
   * Replays a malformed-body dead letter whose stored body now parses: in one statement the letter is marked
   * replayed, the events are stored under the original receipt as a fresh delivery would store them (a known
   * idempotency key is skipped), the receipt loses its parse error, and the replay is audited. Null when the
   * letter was not pending.
   */
  async replayReceipt(
    letter: { id: string; receiptId: string; provider: string; correlationId: string },
    events: readonly EventRow[],
    actor: string,
  ): Promise<{ insertedIds: string[] } | null> {
    const [row] = await this.db.query<{ replayed: boolean; inserted: string[] | null }>(
      `WITH letter AS (
         ${markReceiptLetterReplayed('$1')}
       ), ${storeEvents(4, 'EXISTS (SELECT 1 FROM letter)')}, receipt AS (
         ${markReceiptParsed('$2', `cardinality($4::uuid[])`, 'EXISTS (SELECT 1 FROM letter)')}
       ), audited AS (
         ${insertAudit(
           auditRows(
             {
               action: `'${AuditAction.DeadLetterReplayed}'`,
               outcome: `'success'`,
               provider: '$3',
               correlation_id: '$19',
               actor: '$18',
               metadata: `jsonb_build_object('deadLetterId', l.id, 'replayCount', l.replay_count, 'receiptId', $2::uuid,
                                   'events', cardinality($4::uuid[]), 'newEvents', (SELECT count(*) FROM inserted))`,
             },
             'FROM letter l',
           ),
         )}
       )
       SELECT EXISTS (SELECT 1 FROM letter) AS replayed, (SELECT array_agg(id) FROM inserted) AS inserted`,
      [letter.id, letter.receiptId, letter.provider, ...eventRowParams(events), actor, letter.correlationId],
    );
    return row?.replayed ? { insertedIds: row.inserted ?? [] } : null;
  }

  /** Undoes markReplayed when the jobs could not be queued (Redis unavailable): the letters are pending again. */
  async revertReplay(letters: readonly ReplayedLetter[], actor: string): Promise<void> {
    if (letters.length === 0) return;
    await this.db.query(
      `WITH letters AS (
         ${revertLettersReplayed('$1')}
       ), events AS (
         ${eventsBackToFailed('letters')}
       ), replies AS (
         ${repliesBackToFailed('letters')}
       )
       ${insertAudit(
         auditRows(
           {
             action: `'${AuditAction.DeadLetterReplayed}'`,
             outcome: `'failure'`,
             provider: 'l.provider',
             event_id: 'l.event_id',
             correlation_id: 'l.correlation_id',
             actor: '$2',
             metadata: `jsonb_build_object('deadLetterId', l.id, 'reason', 'queue_unavailable')`,
           },
           'FROM letters l',
         ),
       )}`,
      [letters.map((letter) => letter.id), actor],
    );
  }
}
