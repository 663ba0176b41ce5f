import { Injectable } from '@nestjs/common';
import { AuditEntry } from '../audit/audit-actions';
import { auditInsert, auditParams } from '../audit/audit-sql';
import { upsertMessageLetter } from '../dead-letters/dead-letter.sql';
import { Sql } from '../platform/database/sql';
import { startHandoff } from '../inbound/processing/conversation.sql';
import { accountHold } from '../accounts/account.sql';

export const MESSAGE_STATUSES = ['queued', 'sending', 'retrying', 'sent', 'failed', 'unknown', 'skipped'] as const;
export type MessageStatus = (typeof MESSAGE_STATUSES)[number];

/** A message of POST /messages as its routes show it: never its text. */
export interface OutgoingMessage {
  messageId: string;
  provider: string;
  accountId: string;
  recipientId: string;
  tag: 'HUMAN_AGENT' | null;
  status: MessageStatus;
  failureCategory: string | null;
  providerMessageId: string | null;
  attempts: number;
  createdAt: Date;
  sentAt: Date | null;
}

export interface NewOutgoingMessage {
  id: string;
  provider: string;
  accountId: string;
  recipientId: string;
  conversationId: string;
  tag: 'HUMAN_AGENT' | null;
  sealedText: Buffer;
  idempotencyKey: string | null;
  actor: string;
  correlationId: string | null;
  /** When the handoff it starts begins (the injected clock). */
  at: Date;
}

/** A message taken for a send: what the sender needs, the text still sealed. */
export interface ClaimedMessage extends OutgoingMessage {
  sealedText: Buffer;
  correlationId: string | null;
  /** When the patient last wrote (server time): the window is checked again at the send. */
  patientAt: Date | null;
  /** The row was `sending` already: a run died with the request in flight. */
  interrupted: boolean;
  /** Not taken: its account holds its sends (paused, or needing a token); it waits, no attempt used. */
  held: boolean;
}

const COLUMNS = (t: string) => `${t}.id AS "messageId", ${t}.provider, ${t}.account_id AS "accountId",
  ${t}.recipient_id AS "recipientId", ${t}.tag, ${t}.status, ${t}.failure_category AS "failureCategory",
  ${t}.provider_message_id AS "providerMessageId", ${t}.attempts, ${t}.created_at AS "createdAt", ${t}.sent_at AS "sentAt"`;

/** The letter's parameters ($6…$12), typed, when there is no dead letter to write. */
const NO_LETTER = `SELECT $6::uuid, $7::uuid, $8::text, $9::text, $10::text, $11::text, $12::int`;

/** The outgoing_messages table: messages the clinic's systems send, their text sealed, and their outcomes. */
@Injectable()
export class OutgoingMessageRepository {
  constructor(private readonly db: Sql) {}

  /** The conversation with this patient, and when they last wrote (server time); undefined when there is none. */
  async conversation(
    provider: string,
    accountId: string,
    recipientId: string,
  ): Promise<{ id: string; patientAt: Date | null } | undefined> {
    return this.db.one(
      `SELECT id, last_patient_message_at AS "patientAt" FROM conversations
        WHERE provider = $1 AND account_id = $2 AND participant_id = $3`,
      [provider, accountId, recipientId],
    );
  }

  /**
   * Stores the message, starts the conversation's handoff and audits it, in one statement; a known
   * Idempotency-Key (of the same actor) returns the first message instead (`created: false`).
   */
  async create(
    message: NewOutgoingMessage,
    audit: readonly AuditEntry[],
  ): Promise<{ message: OutgoingMessage; created: boolean }> {
    const [row] = await this.db.query<OutgoingMessage & { created: boolean }>(
      `WITH inserted AS (
         INSERT INTO outgoing_messages (id, provider, account_id, recipient_id, conversation_id, tag, content,
                                        idempotency_key, actor, correlation_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (actor, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
         RETURNING *
       ), handoff AS (
         ${startHandoff('$5', '$11::timestamptz', 'EXISTS (SELECT 1 FROM inserted)')}
       ), audited AS (
         ${auditInsert(12)} WHERE EXISTS (SELECT 1 FROM inserted)
       )
       SELECT ${COLUMNS('inserted')}, true AS created FROM inserted
       UNION ALL
       SELECT ${COLUMNS('m')}, false AS created FROM outgoing_messages m
        WHERE m.actor = $9 AND m.idempotency_key = $8 AND NOT EXISTS (SELECT 1 FROM inserted)`,
      [
        message.id,
        message.provider,
        message.accountId,
        message.recipientId,
        message.conversationId,
        message.tag,
        message.sealedText,
        message.idempotencyKey,
        message.actor,
        message.correlationId,
        message.at,
        ...auditParams(audit),
      ],
    );
    if (!row) throw new Error('outgoing message neither stored nor found');
    const { created, ...stored } = row;
    return { message: stored, created };
  }

  async find(id: string): Promise<OutgoingMessage | undefined> {
    return this.db.one<OutgoingMessage>(`SELECT ${COLUMNS('m')} FROM outgoing_messages m WHERE m.id = $1`, [id]);
  }

  /** Its job is in Redis. */
  async markQueued(ids: readonly string[]): Promise<void> {
    await this.db.query(
      `UPDATE outgoing_messages SET queued_at = now() WHERE id = ANY($1::uuid[]) AND queued_at IS NULL`,
      [ids],
    );
  }

  /** Messages whose job never reached Redis (it was down at the POST), older than `graceMs`. */
  async unqueued(graceMs: number, limit: number): Promise<string[]> {
    const rows = await this.db.query<{ id: string }>(
      `SELECT id FROM outgoing_messages
        WHERE queued_at IS NULL AND status = 'queued' AND created_at < now() - make_interval(secs => $1::float8 / 1000)
        ORDER BY created_at LIMIT $2`,
      [graceMs, limit],
    );
    return rows.map((row) => row.id);
  }

  /**
   * Takes a queued or retrying message for a send (`sending`, one attempt more). A message found `sending`
   * comes back `interrupted`: a run died with its request in flight, and it must not be sent again. One whose
   * account holds its sends comes back `held`, untouched.
   */
  async claim(id: string): Promise<ClaimedMessage | undefined> {
    return this.db.one<ClaimedMessage>(
      `WITH taken AS (
         UPDATE outgoing_messages m SET status = 'sending', attempts = attempts + 1, updated_at = now()
          WHERE id = $1 AND status IN ('queued', 'retrying')
            AND ${accountHold('m.provider', 'm.account_id')} IS NULL
          RETURNING *
       ), found AS (
         SELECT t.*, false AS interrupted, false AS held FROM taken t
         UNION ALL
         SELECT m.*, m.status = 'sending', m.status <> 'sending' FROM outgoing_messages m
          WHERE m.id = $1 AND m.status IN ('sending', 'queued', 'retrying') AND NOT EXISTS (SELECT 1 FROM taken)
       )
       SELECT ${COLUMNS('f')}, f.content AS "sealedText", f.correlation_id AS "correlationId", f.interrupted,
              f.held, c.last_patient_message_at AS "patientAt"
         FROM found f JOIN conversations c ON c.id = f.conversation_id`,
      [id],
    );
  }

  /** Nothing was sent: the message waits for its send slot or its next attempt (`attempts` given back when paced). */
  async release(
    id: string,
    status: 'queued' | 'retrying',
    fields: { category?: string; httpStatus?: number; paced?: boolean },
  ) {
    await this.db.query(
      `UPDATE outgoing_messages
          SET status = $2, failure_category = coalesce($3, failure_category),
              last_http_status = coalesce($4, last_http_status),
              attempts = attempts - CASE WHEN $5 THEN 1 ELSE 0 END, updated_at = now()
        WHERE id = $1 AND status = 'sending'`,
      [id, status, fields.category ?? null, fields.httpStatus ?? null, fields.paced ?? false],
    );
  }

  /** The message's outcome (sent, unknown, skipped, failed) with its audit entries, in one statement. */
  async finish(
    id: string,
    outcome: {
      status: 'sent' | 'unknown' | 'skipped' | 'failed';
      providerMessageId?: string | null;
      category?: string | null;
      httpStatus?: number | null;
    },
    audit: readonly AuditEntry[],
    letter?: { id: string; provider: string; correlationId: string | null; error: string; attempts: number },
  ): Promise<void> {
    await this.db.query(
      `WITH finished AS (
         UPDATE outgoing_messages
            SET status = $2, provider_message_id = coalesce($3, provider_message_id),
                failure_category = $4, last_http_status = coalesce($5, last_http_status), updated_at = now(),
                sent_at = CASE WHEN $2 = 'sent' THEN now() ELSE sent_at END
          WHERE id = $1 AND status IN ('sending', 'queued', 'retrying')
          RETURNING id
       ), letter AS (
         ${letter ? upsertMessageLetter(6) : NO_LETTER}
       )
       ${auditInsert(13)}`,
      [
        id,
        outcome.status,
        outcome.providerMessageId ?? null,
        outcome.category ?? null,
        outcome.httpStatus ?? null,
        letter?.id ?? null,
        id,
        letter?.provider ?? null,
        letter?.correlationId ?? null,
        outcome.category ?? null,
        letter?.error ?? null,
        letter?.attempts ?? 0,
        ...auditParams(audit),
      ],
    );
  }
}
