import { SealedColumn } from '../../platform/crypto/sealed-column';
import { RowBatch } from '../../platform/database/row-batch';

/** SQL for writing conversations, messages and replies from other statements (a dead letter, a replay, retention, erasure), processing being their only author. */

/** The event's unfinished reply (held ones too) failed with it (`eventId`, `category`: SQL expressions). */
export function failReply(eventId: string, category: string): string {
  return `UPDATE replies SET status = 'failed', last_error_category = ${category}, updated_at = now()
          WHERE event_id = ${eventId} AND status IN ('sending', 'retrying', 'held')`;
}

/** Failed replies of the replayed letters (`letters`: a relation with `event_id`) may be sent again; a sent one is never touched. */
export function repliesBackToRetrying(letters: string): string {
  return `UPDATE replies r SET status = 'retrying', updated_at = now()
           FROM ${letters} m WHERE r.event_id = m.event_id AND r.status = 'failed'`;
}

/** Undoes repliesBackToRetrying for a replay that could not be queued. */
export function repliesBackToFailed(letters: string): string {
  return `UPDATE replies r SET status = 'failed', updated_at = now()
           FROM ${letters} l WHERE r.event_id = l.event_id AND r.status = 'retrying'`;
}

/** Retention: text of messages stored before the cutoff (by the time we stored it, never by Meta's timestamp). */
export const expireMessageContent: RowBatch = {
  pick: `SELECT id FROM messages WHERE content IS NOT NULL AND created_at < $1 ORDER BY created_at`,
  change: `UPDATE messages m SET content = NULL FROM doomed WHERE m.id = doomed.id`,
};

/** Erasure: the text of the messages of conversations $1. */
export const eraseMessageContent = `UPDATE messages SET content = NULL WHERE conversation_id = ANY($1::uuid[]) AND content IS NOT NULL`;

/** Erasure: participant $2 becomes fingerprint $3 as the recipient of replies in conversations $1 or of provider $4. */
export const pseudonymiseReplies = `UPDATE replies SET recipient_id = $3, updated_at = now()
          WHERE (conversation_id = ANY($1::uuid[]) OR (provider = $4 AND recipient_id = $2)) AND recipient_id = $2`;

/** Erasure: replies held for events $1 will never be sent (their events end as failed, 'erased'). */
export const failHeldReplies = `UPDATE replies SET status = 'failed', last_error_category = 'erased', updated_at = now()
          WHERE event_id = ANY($1::uuid[]) AND status = 'held'`;

/** Erasure: messages of conversation $1 move to conversation $2. */
export const moveMessages = `UPDATE messages SET conversation_id = $2 WHERE conversation_id = $1`;

/** Erasure: replies of conversation $1 move to conversation $2. */
export const moveReplies = `UPDATE replies SET conversation_id = $2 WHERE conversation_id = $1`;

/** Erasure: conversation $1 (merged into another). */
export const deleteConversation = `DELETE FROM conversations WHERE id = $1`;

/** Erasure: conversations $1 now name fingerprint $2 as their participant. */
export const pseudonymiseConversations = `UPDATE conversations SET participant_id = $2 WHERE id = ANY($1::uuid[])`;

/**
 * A message sent through POST /messages: conversation `conversation` (SQL expression) is in a staff handoff from
 * `at` on (`when`: an SQL condition, e.g. that the message row was inserted).
 */
export function startHandoff(conversation: string, at: string, when = 'true'): string {
  return `UPDATE conversations SET handoff_at = greatest(handoff_at, ${at}) WHERE id = ${conversation} AND ${when}`;
}

/** Message text (both directions), bound to provider and Meta id, for re-encryption. */
export const messageSealedColumns: SealedColumn[] = [
  {
    field: 'messages.content',
    table: 'messages',
    column: 'content',
    key: 't.id',
    keyType: 'uuid',
    rowId: `t.provider || ':' || t.meta_message_id`,
    array: false,
    reseal: `UPDATE messages t SET content = u.new FROM unnest($1::uuid[], $2::bytea[], $3::bytea[]) AS u(id, old, new)
              WHERE t.id = u.id AND t.content = u.old`,
  },
];
