import { Injectable } from '@nestjs/common';
import { PoolClient } from 'pg';
import { AuditEntry } from '../../audit/audit-actions';
import { auditInsert, auditParams } from '../../audit/audit-sql';
import {
  eraseMessageContent,
  deleteConversation,
  failHeldReplies,
  moveMessages,
  moveReplies,
  pseudonymiseConversations,
  pseudonymiseReplies,
} from '../../inbound/processing/conversation.sql';
import { eraseVipSender } from '../../inbound/priority/vip-sender.sql';
import { eraseEventPayloads, eraseReceiptBodies, pseudonymiseEvents } from '../../inbound/store/event-store.sql';
import { eraseEventAttempts, eraseEventDeliveries, eraseSystemEvents } from '../../outbound/delivery/delivery.sql';
import { messageStoredKey } from '../../outbound/events/message-stored.publisher';
import { MaintenanceSql } from '../../platform/database/sql';

export interface ErasureCounts {
  /** Conversations whose participant id was replaced by its fingerprint. */
  conversations: number;
  /** Messages (both directions) whose content was removed. */
  messageContent: number;
  /** Raw webhook bodies removed: every receipt that carried one of the participant's events or mentions them. */
  receiptBodies: number;
  /** Event payloads removed. */
  eventPayloads: number;
  /** Events whose sender/recipient id was replaced by the fingerprint. */
  events: number;
  /** Replies whose recipient id was replaced by the fingerprint. */
  replies: number;
  /** Their entry in the VIP list (vip_senders), removed. */
  vipSenders: number;
  /** Outbound events published about their messages (instagram.message.received), removed with their deliveries. */
  outboundEvents: number;
}

const UNLINKED_PAGE = 500;

/** Escapes a literal for a Postgres regular expression. */
const regexLiteral = (value: string) => value.replace(/[\\.^$|?*+()[\]{}]/g, '\\$&');

/**
 * Erases one participant, in one transaction of statements written by each table's owner (*.sql.ts): message content, raw bodies and payloads go; their id
 * is replaced by its keyed fingerprint everywhere it is stored, so rows stay countable but not personal.
 */
@Injectable()
export class ErasureRepository {
  constructor(private readonly db: MaintenanceSql) {}

  async erase(
    provider: string,
    participantId: string,
    fingerprint: string,
    mentions: (receiptId: string, sealedBody: Buffer) => boolean,
    audit: (counts: ErasureCounts) => AuditEntry,
  ): Promise<ErasureCounts> {
    // Read before the transaction, so its row locks are held only for the updates.
    const mentioning = await this.unlinkedReceiptsMentioning(provider, mentions);
    return this.db.transaction(async (client) => {
      const conversations = await ids(
        client,
        `SELECT id FROM conversations WHERE provider = $1 AND participant_id = $2 ORDER BY id FOR UPDATE`,
        [provider, participantId],
      );
      // Their events: sent by or to them, and whatever is linked to their conversations (echoes, replies).
      const events = await ids(
        client,
        `SELECT id FROM inbound_events WHERE provider = $1 AND (sender_id = $2 OR recipient_id = $2)
         UNION SELECT event_id FROM messages WHERE conversation_id = ANY($3::uuid[])
         UNION SELECT event_id FROM replies WHERE conversation_id = ANY($3::uuid[])`,
        [provider, participantId, conversations],
      );

      const messageContent = await count(client, eraseMessageContent, [conversations]);
      const receiptBodies = await count(client, eraseReceiptBodies, [events, mentioning]);
      const eventPayloads = await count(client, eraseEventPayloads, [events]);
      // Unfinished events cannot be processed without their payload: finish them as failed ('erased').
      // Idempotency keys of reactions and reads embed the sender id: it is replaced too.
      const pseudonymised = await count(client, pseudonymiseEvents, [
        events,
        participantId,
        fingerprint,
        regexLiteral(participantId),
      ]);
      await client.query(failHeldReplies, [events]);
      const replies = await count(client, pseudonymiseReplies, [conversations, participantId, fingerprint, provider]);

      const vipSenders = await count(client, eraseVipSender, [provider, participantId]);

      // What subscribers were told about their messages carries their id (sealed): our copies go.
      const outbound = await ids(client, eraseSystemEvents, [events.map(messageStoredKey)]);
      // Through the deliveries (both lookups indexed): outbound_attempts has no index on event_id, and a
      // sequential scan of every attempt ever stored would hold this transaction for seconds.
      await client.query(eraseEventAttempts, [outbound]);
      await client.query(eraseEventDeliveries, [outbound]);

      // A conversation pseudonymised by an earlier erasure (the patient wrote again since) absorbs this one.
      const merges = await client.query<{ from_id: string; to_id: string }>(
        `SELECT c.id AS from_id, f.id AS to_id FROM conversations c
           JOIN conversations f ON f.provider = c.provider AND f.account_id = c.account_id AND f.participant_id = $2
          WHERE c.id = ANY($1::uuid[])`,
        [conversations, fingerprint],
      );
      for (const { from_id, to_id } of merges.rows) {
        await client.query(moveMessages, [from_id, to_id]);
        await client.query(moveReplies, [from_id, to_id]);
        await client.query(deleteConversation, [from_id]);
      }
      await client.query(pseudonymiseConversations, [conversations, fingerprint]);

      const counts: ErasureCounts = {
        conversations: conversations.length,
        messageContent,
        receiptBodies,
        eventPayloads,
        events: pseudonymised,
        replies,
        vipSenders,
        outboundEvents: outbound.length,
      };
      await client.query(auditInsert(1), auditParams([audit(counts)]));
      return counts;
    });
  }

  /**
   * Receipts that stored fewer events than they carried (redeliveries of duplicates, malformed bodies) are
   * linked to no participant: those still holding a body (RAW_RETENTION_DAYS at most) are opened, a page at a time.
   */
  private async unlinkedReceiptsMentioning(
    provider: string,
    mentions: (receiptId: string, sealedBody: Buffer) => boolean,
  ): Promise<string[]> {
    const found: string[] = [];
    let afterId: string | null = null;
    for (;;) {
      const page: { id: string; body: Buffer }[] = await this.db.query<{ id: string; body: Buffer }>(
        `SELECT r.id, r.body FROM webhook_receipts r
          WHERE r.body IS NOT NULL AND r.provider = $1 AND ($2::uuid IS NULL OR r.id > $2::uuid)
            AND (r.parse_error IS NOT NULL
                 OR r.event_count > (SELECT count(*) FROM inbound_events e WHERE e.receipt_id = r.id))
          ORDER BY r.id LIMIT $3`,
        [provider, afterId, UNLINKED_PAGE],
      );
      found.push(...page.filter((row) => mentions(row.id, row.body)).map((row) => row.id));
      if (page.length < UNLINKED_PAGE) return found;
      afterId = page[page.length - 1].id;
    }
  }
}

async function ids(client: PoolClient, text: string, values: unknown[]): Promise<string[]> {
  return (await client.query<{ id: string }>(text, values)).rows.map((row) => row.id);
}

async function count(client: PoolClient, text: string, values: unknown[]): Promise<number> {
  return (await client.query(text, values)).rowCount ?? 0;
}
