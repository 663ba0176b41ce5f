import { Injectable } from '@nestjs/common';
import { AuditEntry } from '../audit/audit-actions';
import { auditInsert, auditParams } from '../audit/audit-sql';
import { Sql } from '../database/sql';

export interface DeadLetterInput {
  id: string;
  source: 'inbound' | 'outbound';
  eventId: string;
  provider: string;
  correlationId: string;
  category: string;
  /** Sanitised: status and error codes only. */
  error: string;
  attempts: number;
  jobId: string | null;
}

/** Failed events, without content: ids, category, sanitised error and timing only. */
@Injectable()
export class DeadLetterRepository {
  constructor(private readonly db: Sql) {}

  /**
   * Dead-letters an inbound event in one statement: the record (or, if one is already pending for the
   * event, its attempt figures), the event and its reply marked failed, and the audit entries.
   */
  async deadLetterInboundEvent(input: DeadLetterInput, audit: readonly AuditEntry[]): Promise<void> {
    await this.db.query(
      `WITH letter AS (
         INSERT INTO dead_letters (id, source, event_id, provider, correlation_id, category, error, attempts, job_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (event_id) WHERE status = 'pending' AND event_id IS NOT NULL DO UPDATE
            SET category = EXCLUDED.category, error = EXCLUDED.error, attempts = EXCLUDED.attempts,
                job_id = EXCLUDED.job_id, last_failed_at = now()
       ), event AS (
         UPDATE inbound_events SET status = 'failed', last_error_category = $6, processed_at = now() WHERE id = $3
       ), reply AS (
         UPDATE replies SET status = 'failed', last_error_category = $6, updated_at = now()
          WHERE event_id = $3 AND status IN ('sending', 'retrying')
       )
       ${auditInsert(10)}`,
      [
        input.id,
        input.source,
        input.eventId,
        input.provider,
        input.correlationId,
        input.category,
        input.error,
        input.attempts,
        input.jobId,
        ...auditParams(audit),
      ],
    );
  }

  async countPending(): Promise<number> {
    const row = await this.db.one<{ n: number }>(
      `SELECT count(*)::int AS n FROM dead_letters WHERE status = 'pending'`,
    );
    return row?.n ?? 0;
  }
}
