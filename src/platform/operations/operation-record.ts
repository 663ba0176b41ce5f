import { OperationStatus } from './operation-kind';

/** An operation's row, camelCase. */
export interface OperationRecord {
  id: string;
  kind: string;
  filter: Record<string, unknown>;
  status: OperationStatus;
  total: number;
  done: number;
  failed: number;
  cursor: string | null;
  actor: string;
  error: string | null;
  cancelRequestedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
}

export interface NewOperation {
  id: string;
  kind: string;
  filter: object;
  total: number;
  actor: string;
}
