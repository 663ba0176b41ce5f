import { RowBatch } from '../database/row-batch';

/** Retention: operations that ended before $1, oldest first (the table is small: a few rows a day). */
export const expireFinishedOperations: RowBatch = {
  pick: `SELECT id FROM operations WHERE status <> 'running' AND finished_at < $1 ORDER BY created_at`,
  change: `DELETE FROM operations o USING doomed WHERE o.id = doomed.id`,
};
