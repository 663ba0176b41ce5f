import { Injectable } from '@nestjs/common';
import { expireAuditEntries } from '../../audit/audit-sql';
import { expireDeadLetters } from '../../dead-letters/dead-letter.sql';
import { expireMessageContent } from '../../inbound/processing/conversation.sql';
import {
  expireFailedPayloads,
  expireFailedReceiptBodies,
  expireProcessedPayloads,
  expireReceiptBodies,
} from '../../inbound/store/event-store.sql';
import {
  expireOutboundAttempts,
  expireOutboundDeliveries,
  expireOutboundEvents,
} from '../../outbound/delivery/delivery.sql';
import { MaintenanceSql } from '../../platform/database/sql';
import { expireFinishedOperations } from '../../platform/operations/operation.sql';
import { RowBatch } from '../../platform/database/row-batch';

/**
 * One batch of each retention step, each step in the words of its table's owner (RowBatch). Every method is
 * one short transaction over at most `limit` rows, picked oldest first with SKIP LOCKED so it never waits on
 * (or blocks for long) the ingest and processing paths. Each returns how many rows it changed; the caller
 * loops until a batch comes back short.
 */
@Injectable()
export class RetentionRepository {
  constructor(private readonly db: MaintenanceSql) {}

  clearReceiptBodies(receivedBefore: Date, limit: number): Promise<number> {
    return this.batch(expireReceiptBodies, [receivedBefore, limit]);
  }

  /** Bodies that are a dead-lettered event's payload: by the dead-letter period, like the payloads. */
  clearFailedReceiptBodies(failedBefore: Date, limit: number): Promise<number> {
    return this.batch(expireFailedReceiptBodies, [failedBefore, limit]);
  }

  /** By the time the message was stored, never by Meta's timestamp (a sender's clock is not ours). */
  clearMessageContent(storedBefore: Date, limit: number): Promise<number> {
    return this.batch(expireMessageContent, [storedBefore, limit]);
  }

  clearProcessedPayloads(processedBefore: Date, limit: number): Promise<number> {
    return this.batch(expireProcessedPayloads, [processedBefore, limit]);
  }

  clearFailedPayloads(failedBefore: Date, limit: number): Promise<number> {
    return this.batch(expireFailedPayloads, [failedBefore, limit]);
  }

  deleteDeadLetters(createdBefore: Date, limit: number): Promise<number> {
    return this.batch(expireDeadLetters, [createdBefore, limit]);
  }

  deleteAuditEntries(occurredBefore: Date, limit: number): Promise<number> {
    return this.db.query<{ n: number }>(expireAuditEntries, [occurredBefore, limit]).then((rows) => rows[0]?.n ?? 0);
  }

  deleteOutboundAttempts(createdBefore: Date, limit: number): Promise<number> {
    return this.batch(expireOutboundAttempts, [createdBefore, limit]);
  }

  deleteOutboundDeliveries(createdBefore: Date, limit: number): Promise<number> {
    return this.batch(expireOutboundDeliveries, [createdBefore, limit]);
  }

  deleteOutboundEvents(createdBefore: Date, limit: number): Promise<number> {
    return this.batch(expireOutboundEvents, [createdBefore, limit]);
  }

  /** Operations that ended before the cutoff; a running one is kept however old (it is still owed work). */
  deleteFinishedOperations(finishedBefore: Date, limit: number): Promise<number> {
    return this.batch(expireFinishedOperations, [finishedBefore, limit]);
  }

  /** The one statement every step is: the owner's `pick` (at most $2 rows, skipping locked ones), then its `change`. */
  private async batch({ pick, change }: RowBatch, values: [Date, number]): Promise<number> {
    const text = `WITH doomed AS (${pick} LIMIT $2 FOR UPDATE SKIP LOCKED),
                       changed AS (${change} RETURNING 1)
                  SELECT count(*)::int AS n FROM changed`;
    const rows = await this.db.query<{ n: number }>(text, values);
    return rows[0]?.n ?? 0;
  }
}
