import { Injectable } from '@nestjs/common';
import { Sql } from '../database/sql';
import { OperationBatch, OperationStatus } from './operation-kind';
import { NewOperation, OperationRecord } from './operation-record';

const COLUMNS = `id, kind, filter, status, total, done, failed, cursor, actor, error,
  cancel_requested_at AS "cancelRequestedAt", created_at AS "createdAt", updated_at AS "updatedAt",
  finished_at AS "finishedAt"`;

/** The operations table: one row per durable operation, its progress and its cursor. */
@Injectable()
export class OperationRepository {
  constructor(private readonly db: Sql) {}

  async create(operation: NewOperation): Promise<OperationRecord> {
    const rows = await this.db.query<OperationRecord>(
      `INSERT INTO operations (id, kind, filter, total, actor) VALUES ($1, $2, $3, $4, $5) RETURNING ${COLUMNS}`,
      [operation.id, operation.kind, JSON.stringify(operation.filter), operation.total, operation.actor],
    );
    return rows[0];
  }

  find(id: string): Promise<OperationRecord | undefined> {
    return this.db.one<OperationRecord>(`SELECT ${COLUMNS} FROM operations WHERE id = $1`, [id]);
  }

  /** Newest first, keyset on (created_at, id): `before` is the last id of the previous page. */
  list(filter: { status?: OperationStatus; kind?: string }, before: string | null, limit: number) {
    return this.db.query<OperationRecord>(
      `SELECT ${COLUMNS} FROM operations
        WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR kind = $2)
          AND ($3::uuid IS NULL OR (created_at, id) < (SELECT created_at, id FROM operations WHERE id = $3))
        ORDER BY created_at DESC, id DESC LIMIT $4`,
      [filter.status ?? null, filter.kind ?? null, before, limit],
    );
  }

  async runningIds(limit: number): Promise<string[]> {
    const rows = await this.db.query<{ id: string }>(
      `SELECT id FROM operations WHERE status = 'running' ORDER BY created_at LIMIT $1`,
      [limit],
    );
    return rows.map((row) => row.id);
  }

  /** Adds a batch's counts and moves the cursor; returns the row as it is now (a cancel may have arrived). */
  async recordBatch(id: string, batch: OperationBatch): Promise<OperationRecord | undefined> {
    return this.db.one<OperationRecord>(
      `UPDATE operations SET done = done + $2, failed = failed + $3, cursor = coalesce($4, cursor), updated_at = now()
        WHERE id = $1 RETURNING ${COLUMNS}`,
      [id, batch.done, batch.failed, batch.cursor],
    );
  }

  /** Ends a running operation; undefined when it had ended already. */
  finish(id: string, status: Exclude<OperationStatus, 'running'>, error: string | null = null) {
    return this.db.one<OperationRecord>(
      `UPDATE operations SET status = $2, error = $3, finished_at = now(), updated_at = now()
        WHERE id = $1 AND status = 'running' RETURNING ${COLUMNS}`,
      [id, status, error],
    );
  }

  requestCancel(id: string): Promise<OperationRecord | undefined> {
    return this.db.one<OperationRecord>(
      `UPDATE operations SET cancel_requested_at = coalesce(cancel_requested_at, now()), updated_at = now()
        WHERE id = $1 RETURNING ${COLUMNS}`,
      [id],
    );
  }
}
