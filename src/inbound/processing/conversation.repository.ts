import { Injectable } from '@nestjs/common';
import { HoldReason } from '../../accounts/account';
import { accountHold } from '../../accounts/account.sql';
import { AuditEntry } from '../../audit/audit-actions';
import { auditInsert, auditParams } from '../../audit/audit-sql';
import { EventLetter, eventLetterParams, upsertEventLetter } from '../../dead-letters/dead-letter.sql';
import { GroupCommit, writeApartOnDataError } from '../../platform/database/group-commit';
import { Sql } from '../../platform/database/sql';
import { completeEvents, failEvent } from '../store/event-store.sql';
import { failReply } from './conversation.sql';
import { MESSAGING_WINDOW_MS, ReplyTextKind } from './reply-policy';

const WINDOW_HOURS = MESSAGING_WINDOW_MS / 3600_000;

/**
 * Whether the upserted conversation takes this message's reply as its auto-reply (EXCLUDED: the proposal,
 * c: the row as it was): no handoff, the window open, the cooldown passed. Evaluated under the row's lock, so
 * concurrent messages of one conversation cannot both take it.
 */
const takesReply = `(EXCLUDED.last_auto_reply_id IS NOT NULL
  AND (c.handoff_at IS NULL OR c.handoff_at <= EXCLUDED.last_auto_reply_at - make_interval(mins => $18::int))
  AND ($14::int = 0 OR c.last_auto_reply_at IS NULL
       OR c.last_auto_reply_at <= EXCLUDED.last_auto_reply_at - make_interval(mins => $14::int)))`;

/** `held`: waiting for its account (paused, or needing a token); nothing was sent and no attempt is used. */
export type ReplyStatus = 'sending' | 'retrying' | 'sent' | 'failed' | 'unknown' | 'skipped' | 'held';

export interface IncomingMessage {
  eventId: string;
  provider: string;
  accountId: string;
  participantId: string;
  metaMessageId: string;
  /** Meta's time of the message, clamped near `receivedAt`: data, and the order of messages in a conversation. */
  sentAt: Date;
  /** When Switchboard received it: the conversation's order and the patient's last-message time. */
  receivedAt: Date;
  sealedContent: Buffer;
  attachmentCount: number;
  /** False for standby messages: another app holds the thread, so we must not answer. */
  replyWanted: boolean;
  skipReason: string | null;
  /** When the reply is decided (the injected clock): the window, the handoff and the cooldown are measured from it. */
  decidedAt: Date;
  /** What the account's hours call for now (ReplyPolicy). */
  textKind: ReplyTextKind;
  policy: ConversationPolicySettings;
  newIds: { conversation: string; message: string; reply: string };
}

/** The same for every message of a process (the environment's). */
export interface ConversationPolicySettings {
  cooldownMinutes: number;
  handoffMinutes: number;
}

export interface RecordedMessage {
  conversationId: string;
  /** Set when this call created the reply row: `sending` means this caller must send it now. */
  createdReply: { status: ReplyStatus; skipReason: string | null; holdReason: HoldReason | null } | null;
  /** The reply row a previous run of the same event left behind. */
  existingReply: { status: ReplyStatus } | null;
}

/** What the policy says when a reply is taken again: the clock's time and the hours' text then. */
export interface ClaimDecision {
  decidedAt: Date;
  handoffMinutes: number;
  textKind: ReplyTextKind;
}

/** A reply taken for another try (`sending`), found held by its account, or skipped by the policy now. */
export interface ClaimedReply {
  status: 'sending' | 'held' | 'skipped';
  /** Why it is skipped now (`handoff`, `window_closed`, …). */
  skipReason: string | null;
  /** The send slot an earlier run reserved (pacing, or the release of held replies). */
  notBefore: Date | null;
  /** `held` now, and was not before this call: audit it. */
  newlyHeld: boolean;
  holdReason: HoldReason | null;
}

interface FinishedReply {
  eventId: string;
  reply: {
    status: Exclude<ReplyStatus, 'sending' | 'retrying'>;
    providerMessageId?: string | null;
    category?: string | null;
    httpStatus?: number | null;
  };
  audit: readonly AuditEntry[];
}

export interface OutgoingEcho {
  eventId: string;
  provider: string;
  accountId: string;
  participantId: string;
  metaMessageId: string;
  sentAt: Date;
  receivedAt: Date;
  sealedContent: Buffer;
  attachmentCount: number;
  newIds: { conversation: string; message: string };
}

export interface RecordedEcho {
  conversationId: string | null;
  reconciledReplyId: string | null;
  /** A person wrote it (none of our sends): the conversation's handoff starts (again) at the echo's receipt. */
  handoff: boolean;
  /** Not ours by id, but a reply of ours to the conversation is being sent: it may be its echo. */
  ourSendInFlight: boolean;
}

/** Conversations, their messages (content sealed) and the auto-replies sent into them. */
@Injectable()
export class ConversationRepository {
  constructor(private readonly db: Sql) {}

  /**
   * Upserts the conversation, stores the message and creates its reply row. Concurrent jobs share one
   * statement and one commit (group commit).
   */
  async recordIncomingMessage(input: IncomingMessage): Promise<RecordedMessage> {
    const recorded = await this.incomingBatch.submit(input);
    if (recorded instanceof Error) throw recorded;
    return recorded;
  }

  private readonly incomingBatch = new GroupCommit<IncomingMessage, RecordedMessage | Error>(
    async (items) => {
      const recorded = new Map<IncomingMessage, RecordedMessage | Error>();
      // One upsert may touch a conversation once: messages of the same conversation go in later rounds.
      // Each round commits on its own, so the isolation rule applies per round: writing halves again never
      // repeats a round that is already committed, and a refused message fails only its own job.
      for (const round of roundsByConversation(items)) {
        await writeApartOnDataError(
          round,
          (part) => this.writeIncomingMessages(part),
          (index, outcome) =>
            recorded.set(
              round[index],
              outcome.ok
                ? outcome.value
                : outcome.error instanceof Error
                  ? outcome.error
                  : new Error(String(outcome.error)),
            ),
        );
      }
      return items.map((item) => recorded.get(item) as RecordedMessage | Error);
    },
    { name: 'conversation.incoming', maxBatchWeight: 200, maxInFlight: 2, maxPending: 10_000 },
  );

  private async writeIncomingMessages(items: readonly IncomingMessage[]): Promise<RecordedMessage[]> {
    const rows = await this.db.query<{
      event_id: string;
      conversation_id: string;
      new_status: ReplyStatus | null;
      new_skip_reason: string | null;
      new_hold_reason: HoldReason | null;
      existing_status: ReplyStatus | null;
    }>(
      `WITH incoming AS (
         SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::uuid[],
                              $7::uuid[], $8::text[], $9::boolean[], $10::bytea[], $11::int[], $12::uuid[], $13::text[],
                              $15::timestamptz[], $16::timestamptz[], $17::text[])
                AS i(conversation_id, provider, account_id, participant_id, sent_at, message_id, event_id,
                     meta_message_id, reply_wanted, content, attachment_count, reply_id, skip_reason, received_at,
                     decided_at, text_kind)
       ), existing AS (
         SELECT r.event_id, r.status FROM replies r JOIN incoming i ON r.event_id = i.event_id
       ), proposed AS (
         -- A reply that would send (not standby, not a rerun, a text to send, the window open) proposes itself
         -- as the conversation's auto-reply; the upsert takes it unless a handoff or the cooldown says no.
         SELECT i.*, (i.reply_wanted AND i.text_kind IN ('in_hours', 'after_hours')
                      AND NOT EXISTS (SELECT 1 FROM existing e WHERE e.event_id = i.event_id)
                      AND i.received_at > i.decided_at - interval '${WINDOW_HOURS} hours') AS proposes
           FROM incoming i
       ), conv AS (
         INSERT INTO conversations AS c (id, provider, account_id, participant_id, first_message_at, last_message_at,
                                         last_patient_message_at, last_auto_reply_at, last_auto_reply_id)
         SELECT p.conversation_id, p.provider, p.account_id, p.participant_id, p.received_at, p.received_at,
                p.received_at, CASE WHEN p.proposes THEN p.decided_at END, CASE WHEN p.proposes THEN p.reply_id END
           FROM proposed p
         ON CONFLICT (provider, account_id, participant_id) DO UPDATE
            SET last_message_at = greatest(c.last_message_at, EXCLUDED.last_message_at),
                last_patient_message_at = greatest(c.last_patient_message_at, EXCLUDED.last_patient_message_at),
                last_auto_reply_at = CASE WHEN ${takesReply} THEN EXCLUDED.last_auto_reply_at ELSE c.last_auto_reply_at END,
                last_auto_reply_id = CASE WHEN ${takesReply} THEN EXCLUDED.last_auto_reply_id ELSE c.last_auto_reply_id END
         RETURNING id, provider, account_id, participant_id, last_auto_reply_id, last_auto_reply_at, handoff_at,
                   last_patient_message_at
       ), matched AS (
         SELECT i.*, conv.id AS conv_id, conv.last_auto_reply_id = i.reply_id AS reply_allowed,
                conv.handoff_at > i.decided_at - make_interval(mins => $18::int) AS in_handoff,
                i.received_at <= i.decided_at - interval '${WINDOW_HOURS} hours' AS window_closed,
                ($14::int > 0 AND conv.last_auto_reply_id IS DISTINCT FROM i.reply_id
                 AND conv.last_auto_reply_at > i.decided_at - make_interval(mins => $14::int)) AS cooling_down,
                ${accountHold('i.provider', 'i.account_id')} AS hold
           FROM incoming i
           JOIN conv ON conv.provider = i.provider AND conv.account_id = i.account_id
                    AND conv.participant_id = i.participant_id
       ), message AS (
         INSERT INTO messages (id, conversation_id, event_id, provider, meta_message_id, direction, content, attachment_count, sent_at)
         SELECT m.message_id, m.conv_id, m.event_id, m.provider, m.meta_message_id, 'inbound', m.content,
                m.attachment_count, m.sent_at
           FROM matched m
         ON CONFLICT DO NOTHING
       ), decided AS (
         -- The reply decision, in the contract's order: standby, held while its account is, handoff, window,
         -- cooldown, the hours' text (none after hours, or none at all), or sent now.
         SELECT m.*, CASE WHEN NOT m.reply_wanted THEN m.skip_reason
                          WHEN m.hold IS NOT NULL THEN NULL
                          WHEN m.in_handoff THEN 'handoff'
                          WHEN m.window_closed THEN 'window_closed'
                          WHEN m.cooling_down THEN 'cooldown'
                          WHEN m.text_kind IN ('after_hours_disabled', 'disabled') THEN m.text_kind
                          WHEN NOT m.reply_allowed THEN 'cooldown'
                     END AS reason
           FROM matched m
       ), reply AS (
         INSERT INTO replies (id, event_id, conversation_id, provider, recipient_id, status, skip_reason, attempts,
                              hold_reason)
         SELECT d.reply_id, d.event_id, d.conv_id, d.provider, d.participant_id,
                CASE WHEN d.reason IS NOT NULL THEN 'skipped' WHEN d.hold IS NOT NULL THEN 'held' ELSE 'sending' END,
                d.reason,
                CASE WHEN d.reason IS NULL AND d.hold IS NULL THEN 1 ELSE 0 END,
                CASE WHEN d.reason IS NULL THEN d.hold END
           FROM decided d
         ON CONFLICT (event_id) DO NOTHING
         RETURNING event_id, status, skip_reason, hold_reason
       )
       SELECT m.event_id, m.conv_id AS conversation_id, r.status AS new_status, r.skip_reason AS new_skip_reason,
              r.hold_reason AS new_hold_reason, e.status AS existing_status
         FROM matched m
         LEFT JOIN reply r ON r.event_id = m.event_id
         LEFT JOIN existing e ON e.event_id = m.event_id`,
      [
        items.map((item) => item.newIds.conversation),
        items.map((item) => item.provider),
        items.map((item) => item.accountId),
        items.map((item) => item.participantId),
        items.map((item) => item.sentAt),
        items.map((item) => item.newIds.message),
        items.map((item) => item.eventId),
        items.map((item) => item.metaMessageId),
        items.map((item) => item.replyWanted),
        items.map((item) => item.sealedContent),
        items.map((item) => item.attachmentCount),
        items.map((item) => item.newIds.reply),
        items.map((item) => item.skipReason),
        items[0].policy.cooldownMinutes,
        items.map((item) => item.receivedAt),
        items.map((item) => item.decidedAt),
        items.map((item) => item.textKind),
        items[0].policy.handoffMinutes,
      ],
    );
    const byEvent = new Map(rows.map((row) => [row.event_id, row]));
    return items.map((item) => {
      const row = byEvent.get(item.eventId);
      if (!row) throw new Error('conversation upsert returned no row');
      return {
        conversationId: row.conversation_id,
        createdReply: row.new_status
          ? { status: row.new_status, skipReason: row.new_skip_reason, holdReason: row.new_hold_reason }
          : null,
        existingReply: row.existing_status ? { status: row.existing_status } : null,
      };
    });
  }

  /**
   * Takes a reply left `retrying` (or `held`) for another try, unless its account holds its sends now: then
   * it is `held`, with no attempt used. The policy is asked again, as the time has moved on: a handoff since,
   * the window closed (also for a reply its account held that long: the contract's `window_closed`), or no text after hours now
   * make it `skipped`. `notBefore` is set when an earlier run deferred it to a reserved send slot (pacing, or
   * a release of held replies): the send keeps that slot unless it went stale meanwhile.
   */
  async claimReply(eventId: string, decision: ClaimDecision): Promise<ClaimedReply | null> {
    const row = await this.db.one<{
      status: 'sending' | 'held' | 'skipped';
      not_before: Date | null;
      was: string;
      hold: HoldReason | null;
      skip_reason: string | null;
    }>(
      `WITH target AS (
         SELECT r.id, r.status AS was, ${accountHold('c.provider', 'c.account_id')} AS hold,
                CASE WHEN c.handoff_at > $2::timestamptz - make_interval(mins => $3::int) THEN 'handoff'
                     WHEN e.received_at <= $2::timestamptz - interval '${WINDOW_HOURS} hours'
                       THEN 'window_closed'
                     WHEN $4::text IN ('after_hours_disabled', 'disabled') THEN $4::text
                END AS reason
           FROM replies r
           JOIN conversations c ON c.id = r.conversation_id
           JOIN inbound_events e ON e.id = r.event_id
          WHERE r.event_id = $1 AND r.status IN ('retrying', 'held')
       )
       UPDATE replies r
          SET status = CASE WHEN t.hold IS NOT NULL THEN 'held' WHEN t.reason IS NOT NULL THEN 'skipped' ELSE 'sending' END,
              attempts = r.attempts + CASE WHEN t.hold IS NULL AND t.reason IS NULL THEN 1 ELSE 0 END,
              hold_reason = t.hold,
              skip_reason = CASE WHEN t.hold IS NULL THEN t.reason END,
              released_at = CASE WHEN t.hold IS NULL THEN r.released_at END,
              updated_at = now()
         FROM target t
        WHERE r.id = t.id AND r.status IN ('retrying', 'held')
        RETURNING r.status, r.not_before, t.was, t.hold, r.skip_reason`,
      [eventId, decision.decidedAt, decision.handoffMinutes, decision.textKind],
    );
    if (!row) return null;
    return {
      status: row.status,
      notBefore: row.not_before,
      newlyHeld: row.status === 'held' && row.was !== 'held',
      holdReason: row.hold,
      skipReason: row.skip_reason,
    };
  }

  /**
   * The Graph API refused the account's token: the reply waits for a new one, `held`, and the refused call
   * does not count as an attempt (the token failed, not the message). The event stays unfinished.
   */
  async holdReply(eventId: string, httpStatus: number | null, audit: readonly AuditEntry[]): Promise<void> {
    await this.db.query(
      `WITH held AS (
         UPDATE replies SET status = 'held', hold_reason = 'needs_token', attempts = greatest(attempts - 1, 0),
                            last_error_category = 'auth', last_http_status = $2, not_before = NULL,
                            released_at = NULL, updated_at = now()
          WHERE event_id = $1 AND status = 'sending'
       )
       ${auditInsert(3)}`,
      [eventId, httpStatus, ...auditParams(audit)],
    );
  }

  /** Nothing was sent yet: park the reply until its reserved slot (the job is delayed, not failed). */
  async deferReply(eventId: string, notBefore: Date): Promise<void> {
    await this.db.query(
      `UPDATE replies SET status = 'retrying', not_before = $2, updated_at = now() WHERE event_id = $1 AND status = 'sending'`,
      [eventId, notBefore],
    );
  }

  /**
   * Records the reply's final state and completes the event, with their audit entries. Concurrent jobs
   * share one statement and one commit (group commit): the worker's last write is one round trip per batch.
   */
  async finishReply(
    eventId: string,
    reply: {
      status: Exclude<ReplyStatus, 'sending' | 'retrying'>;
      providerMessageId?: string | null;
      category?: string | null;
      httpStatus?: number | null;
    },
    audit: readonly AuditEntry[],
  ): Promise<void> {
    await this.finishBatch.submit({ eventId, reply, audit });
  }

  private readonly finishBatch = new GroupCommit<FinishedReply, void>(
    async (items) => {
      await this.writeFinishedReplies(items);
      return items.map(() => undefined);
    },
    { name: 'conversation.finish', maxBatchWeight: 200, maxInFlight: 2, maxPending: 10_000 },
  );

  private async writeFinishedReplies(items: readonly FinishedReply[]): Promise<void> {
    await this.db.query(
      `WITH finished AS (
         SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::int[])
                AS f(event_id, status, provider_message_id, category, http_status)
       ), reply AS (
         UPDATE replies r
            SET status = f.status, provider_message_id = coalesce(f.provider_message_id, r.provider_message_id),
                last_error_category = f.category, last_http_status = coalesce(f.http_status, r.last_http_status),
                updated_at = now(), sent_at = CASE WHEN f.status = 'sent' THEN now() ELSE r.sent_at END
           FROM finished f
          WHERE r.event_id = f.event_id AND r.status IN ('sending', 'retrying')
       ), event AS (
         ${completeEvents('finished', 'event_id')}
       )
       ${auditInsert(6)}`,
      [
        items.map((item) => item.eventId),
        items.map((item) => item.reply.status),
        items.map((item) => item.reply.providerMessageId ?? null),
        items.map((item) => item.reply.category ?? null),
        items.map((item) => item.reply.httpStatus ?? null),
        ...auditParams(items.flatMap((item) => item.audit)),
      ],
    );
  }

  /**
   * Dead-letters an inbound event in one statement: the record (or, if one is already pending for the
   * event, its attempt figures), the event and its reply marked failed, and the audit entries.
   */
  async deadLetterEvent(letter: EventLetter, audit: readonly AuditEntry[]): Promise<void> {
    await this.db.query(
      `WITH letter AS (
         ${upsertEventLetter(1)}
       ), event AS (
         ${failEvent('$3', '$6')}
       ), reply AS (
         ${failReply('$3', '$6')}
       )
       ${auditInsert(10)}`,
      [...eventLetterParams(letter), ...auditParams(audit)],
    );
  }

  /** The provider accepted a reply, then reported it undelivered (a WhatsApp `failed` status). */
  async markReplyUndelivered(provider: string, providerMessageId: string, category: string): Promise<string | null> {
    const rows = await this.db.query<{ id: string }>(
      `UPDATE replies SET status = 'failed', last_error_category = $3, updated_at = now()
        WHERE provider = $1 AND provider_message_id = $2 AND status IN ('sent', 'unknown') RETURNING id`,
      [provider, providerMessageId, category],
    );
    return rows[0]?.id ?? null;
  }

  /** A transient failure: nothing was delivered, so the next attempt may send again. */
  async markReplyRetrying(eventId: string, category: string, httpStatus: number | null): Promise<void> {
    await this.db.query(
      `UPDATE replies SET status = 'retrying', last_error_category = $2, last_http_status = $3, not_before = NULL,
                          updated_at = now()
        WHERE event_id = $1 AND status = 'sending'`,
      [eventId, category, httpStatus],
    );
  }

  /**
   * An echo of a message the account sent: store it, and reconcile the auto-reply it confirms. An echo that
   * is none of ours (no reply has its message id, and no reply's outcome is unknown) was written by a person:
   * it starts a handoff, unless one of our replies to the conversation is in flight (its id not known yet:
   * `ourSendInFlight`, the caller looks again a moment later).
   */
  async recordEcho(input: OutgoingEcho): Promise<RecordedEcho> {
    const row = await this.db.one<{ reconciled: string | null; handoff: boolean; in_flight: boolean; conv: string }>(
      `WITH ours AS (
         -- Ours: an auto-reply's or a POST /messages message's id (the latter started a handoff when it was sent).
         SELECT (EXISTS (SELECT 1 FROM replies r WHERE r.provider = $2 AND r.provider_message_id = $8)
                 OR EXISTS (SELECT 1 FROM outgoing_messages m WHERE m.provider = $2 AND m.provider_message_id = $8))
                  AS known,
                EXISTS (SELECT 1 FROM replies r JOIN conversations c ON c.id = r.conversation_id
                         WHERE c.provider = $2 AND c.account_id = $3 AND c.participant_id = $4
                           AND r.status IN ('unknown', 'sending')) AS unsettled,
                EXISTS (SELECT 1 FROM replies r JOIN conversations c ON c.id = r.conversation_id
                         WHERE c.provider = $2 AND c.account_id = $3 AND c.participant_id = $4
                           AND r.status = 'sending') AS in_flight
       ), conv AS (
         INSERT INTO conversations AS c (id, provider, account_id, participant_id, first_message_at, last_message_at,
                                         handoff_at)
         SELECT $1, $2, $3, $4, $11, $11, CASE WHEN NOT (o.known OR o.unsettled) THEN $11::timestamptz END FROM ours o
         ON CONFLICT (provider, account_id, participant_id) DO UPDATE
            SET last_message_at = greatest(c.last_message_at, EXCLUDED.last_message_at),
                handoff_at = greatest(c.handoff_at, EXCLUDED.handoff_at)
         RETURNING id
       ), message AS (
         INSERT INTO messages (id, conversation_id, event_id, provider, meta_message_id, direction, content, attachment_count, sent_at)
         SELECT $6, conv.id, $7, $2, $8, 'outbound', $9, $10, $5 FROM conv
         ON CONFLICT DO NOTHING
       ), target AS (
         SELECT r.id FROM replies r
          WHERE r.provider = $2 AND r.provider_message_id = $8
         UNION ALL
         (SELECT r.id FROM replies r, conv
           WHERE r.conversation_id = conv.id AND r.status = 'unknown' AND r.created_at <= $11
           ORDER BY r.created_at LIMIT 1)
         LIMIT 1
       ), reconciled AS (
         UPDATE replies r SET status = 'sent', provider_message_id = $8, reconciled_at = now(), updated_at = now(),
                              sent_at = coalesce(r.sent_at, $5)
           FROM target WHERE r.id = target.id AND r.reconciled_at IS NULL
         RETURNING r.id
       )
       SELECT (SELECT id FROM reconciled) AS reconciled, conv.id AS conv,
              NOT (o.known OR o.unsettled) AS handoff, (NOT o.known AND o.in_flight) AS in_flight
         FROM conv, ours o`,
      [
        input.newIds.conversation,
        input.provider,
        input.accountId,
        input.participantId,
        input.sentAt,
        input.newIds.message,
        input.eventId,
        input.metaMessageId,
        input.sealedContent,
        input.attachmentCount,
        input.receivedAt,
      ],
    );
    return {
      conversationId: row?.conv ?? null,
      reconciledReplyId: row?.reconciled ?? null,
      handoff: row?.handoff ?? false,
      ourSendInFlight: row?.in_flight ?? false,
    };
  }

  /** The patient deleted a message: its content goes too. */
  async recordDeletion(provider: string, metaMessageId: string): Promise<number> {
    const rows = await this.db.query(
      `UPDATE messages SET content = NULL, deleted_at = coalesce(deleted_at, now())
        WHERE provider = $1 AND meta_message_id = $2 RETURNING id`,
      [provider, metaMessageId],
    );
    return rows.length;
  }

  async recordEdit(provider: string, metaMessageId: string, sealedContent: Buffer, editCount: number): Promise<number> {
    const rows = await this.db.query(
      `UPDATE messages SET content = $3, edit_count = $4, edited_at = now()
        WHERE provider = $1 AND meta_message_id = $2 AND edit_count < $4 AND deleted_at IS NULL RETURNING id`,
      [provider, metaMessageId, sealedContent, editCount],
    );
    return rows.length;
  }

  async recordRead(provider: string, accountId: string, participantId: string, readAt: Date): Promise<void> {
    await this.db.query(
      `UPDATE conversations SET last_read_at = greatest(coalesce(last_read_at, $4), $4)
        WHERE provider = $1 AND account_id = $2 AND participant_id = $3`,
      [provider, accountId, participantId, readAt],
    );
  }
}

/** Splits a batch into rounds in which each conversation appears once, keeping each conversation's order. */
function roundsByConversation(items: readonly IncomingMessage[]): IncomingMessage[][] {
  const rounds: IncomingMessage[][] = [];
  const lastRound = new Map<string, number>();
  for (const item of items) {
    const key = `${item.provider}\u0000${item.accountId}\u0000${item.participantId}`;
    const round = (lastRound.get(key) ?? -1) + 1;
    lastRound.set(key, round);
    (rounds[round] ??= []).push(item);
  }
  return rounds;
}
