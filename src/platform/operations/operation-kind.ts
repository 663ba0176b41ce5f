/** The three statuses an operation ends in, and the one it runs in. */
export const OPERATION_STATUSES = ['running', 'completed', 'cancelled', 'failed'] as const;
export type OperationStatus = (typeof OPERATION_STATUSES)[number];

/** An operation as its kind sees it while running one batch. */
export interface OperationRun {
  id: string;
  actor: string;
  createdAt: Date;
  /**
   * The first batch after an interruption (a process died, or was stopped, mid-batch): the batch may have
   * taken effect without its progress being recorded, so the kind also picks up what it did then.
   */
  resumed: boolean;
}

/** What one batch did. `cursor` null: nothing is left, the operation is complete. */
export interface OperationBatch {
  done: number;
  failed: number;
  cursor: string | null;
}

/**
 * One kind of durable operation (a bulk replay, a bulk retry, a re-encryption). A kind is a provider in its
 * own room's module, registered with OperationsWorkerModule by the composition; docs/operations.md says how.
 *
 * `filter` is fixed when the operation starts and stored as JSON: ids, categories and dates only, never
 * content. A batch must be idempotent: after a crash the same batch runs again from the same cursor.
 */
export abstract class OperationKind<F extends object = object> {
  /** Stored on the row and shown to operators, e.g. `dead-letters.replay`. */
  abstract readonly name: string;

  /** How many items the operation covers, counted when it starts (its `total`). */
  abstract count(filter: F): Promise<number>;

  /** Runs the batch after `cursor` (null: the first) and says what it did and where the next one starts. */
  abstract runBatch(filter: F, cursor: string | null, run: OperationRun): Promise<OperationBatch>;

  /** Before each batch: how long to wait first, to pace the work (e.g. while a queue is full). 0: go now. */
  waitBeforeBatch(_filter: F): Promise<number> {
    return Promise.resolve(0);
  }

  /** Once it started (its row is written and its job queued): e.g. an audit entry. Must not throw. */
  started(_run: OperationRun, _filter: F, _total: number): Promise<void> {
    return Promise.resolve();
  }

  /** Once it ended, whichever way. Must not throw. */
  finished(_run: OperationRun, _status: OperationStatus, _done: number): Promise<void> {
    return Promise.resolve();
  }
}

/** The kinds a worker process can run, by name. */
export class OperationKinds {
  private readonly byName = new Map<string, OperationKind>();

  constructor(kinds: readonly OperationKind[]) {
    for (const kind of kinds) {
      if (this.byName.has(kind.name)) throw new Error(`two operation kinds are named ${kind.name}`);
      this.byName.set(kind.name, kind);
    }
  }

  get(name: string): OperationKind | undefined {
    return this.byName.get(name);
  }

  names(): string[] {
    return [...this.byName.keys()];
  }
}
