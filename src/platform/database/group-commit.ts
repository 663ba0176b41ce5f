import { Logger } from '@nestjs/common';
import { describeDatabaseError, isDataError, sqlStateOf } from '../database/database-errors';

/** The batcher already holds `maxPending` items or `maxPendingBytes`: refused at once, never queued. */
export class GroupCommitFullError extends Error {
  constructor(readonly batcher: string) {
    super(`${batcher}: too much is pending`);
    this.name = 'GroupCommitFullError';
  }
}

/** Not written within `timeoutMs` (its write may still complete later). */
export class GroupCommitTimeoutError extends Error {
  constructor(readonly batcher: string) {
    super(`${batcher}: not written in time`);
    this.name = 'GroupCommitTimeoutError';
  }
}

/** The caller went away (see `submit`'s `gone`) before the item was written. */
export class GroupCommitAbortedError extends Error {
  constructor(readonly batcher: string) {
    super(`${batcher}: abandoned by its caller`);
    this.name = 'GroupCommitAbortedError';
  }
}

/**
 * How often deadlines and callers who went away are checked while items are pending: an item is answered
 * at most this late, and an abandoned item's memory freed.
 */
const EXPIRY_TICK_MS = 100;

interface Entry<I, O> {
  /** Dropped when the entry is abandoned before its write: its memory is freed at once. */
  item: I | undefined;
  bytes: number;
  deadline: number;
  writing: boolean;
  settled: boolean;
  released: boolean;
  resolve: (value: O) => void;
  reject: (error: unknown) => void;
  gone?: () => boolean;
}

export interface GroupCommitOptions<I> {
  /** Names the batcher in logs. */
  name: string;
  /** Largest batch, measured by `weight` (for example events rather than requests). */
  maxBatchWeight: number;
  /** Batches written at once; the next batch gathers while these are in flight. */
  maxInFlight: number;
  weight?: (item: I) => number;
  /** Items waiting or being written, at most: beyond it `submit` refuses at once (GroupCommitFullError). */
  maxPending: number;
  /** Memory an item holds until it is written, for `maxPendingBytes` and `maxBatchBytes`. */
  bytes?: (item: I) => number;
  /** Bytes waiting or being written, at most (an item is always taken when nothing else is pending). */
  maxPendingBytes?: number;
  /** A batch stops growing at this many bytes (a larger item is written alone). */
  maxBatchBytes?: number;
  /** An item not written within this is refused (GroupCommitTimeoutError), waiting or in flight. */
  timeoutMs?: number | ((item: I) => number);
}

/**
 * Natural batching: a lone item is written at once (no added latency at low load), while items that
 * arrive during a write share the next one. Under load one statement and one commit serve many callers.
 *
 * A shared write that fails on a data error (the database refused a value, see isDataError) is retried
 * in halves until the item that caused it is alone, so only that item fails: one caller never fails
 * another. Any other failure (connection lost, timeout, shutdown) fails the whole batch, as it would fail
 * each item alone.
 */
export class GroupCommit<I, O> {
  private readonly logger = new Logger(GroupCommit.name);
  private waiting: Entry<I, O>[] = [];
  /** Abandoned entries still in `waiting` (skipped when batches are taken). */
  private tombstones = 0;
  private readonly writing = new Set<Entry<I, O>[]>();
  private inFlight = 0;
  private scheduled = false;
  private held = 0;
  private heldBytes = 0;
  private expiry?: NodeJS.Timeout;
  private lastFailureLog = 0;
  private lastFullLog = 0;

  constructor(
    private readonly write: (items: I[]) => Promise<O[]>,
    private readonly options: GroupCommitOptions<I>,
  ) {}

  /**
   * Resolves with the item's result; rejects with its write's error, or at once when the batcher is full.
   * `gone` says the caller no longer waits (a client that hung up): it is asked when batches are taken and on
   * every expiry tick, so an abandoned item is dropped before its write and its memory freed within a tick.
   * A question rather than an AbortSignal: the webhook route asks its socket, which costs nothing per request.
   */
  submit(item: I, gone?: () => boolean): Promise<O> {
    const { name, maxPending, maxPendingBytes } = this.options;
    if (gone?.()) return Promise.reject(new GroupCommitAbortedError(name));
    const bytes = this.options.bytes?.(item) ?? 0;
    if (this.held > 0 && (this.held >= maxPending || (maxPendingBytes && this.heldBytes + bytes > maxPendingBytes))) {
      this.noteFull();
      return Promise.reject(new GroupCommitFullError(name));
    }
    return new Promise<O>((resolve, reject) => {
      this.waiting.push({
        item,
        bytes,
        deadline: this.deadlineOf(item),
        writing: false,
        settled: false,
        released: false,
        resolve,
        reject,
        gone,
      });
      this.held += 1;
      this.heldBytes += bytes;
      if (gone || this.options.timeoutMs !== undefined) this.armExpiry();
      this.schedule();
    });
  }

  /** Items waiting or being written. */
  get pending(): number {
    return this.held;
  }

  get pendingBytes(): number {
    return this.heldBytes;
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.options.maxInFlight) return;
    this.scheduled = true;
    // Let the requests of the current event-loop turn join the batch.
    setImmediate(() => {
      this.scheduled = false;
      this.drain();
    });
  }

  private drain(): void {
    while (this.inFlight < this.options.maxInFlight) {
      const batch = this.takeBatch();
      if (batch.length === 0) return;
      this.inFlight += 1;
      this.writing.add(batch);
      void this.writeShared(batch).finally(() => {
        this.writing.delete(batch);
        for (const entry of batch) this.release(entry);
        this.inFlight -= 1;
        if (this.waiting.length > 0) this.schedule();
      });
    }
  }

  private takeBatch(): Entry<I, O>[] {
    const weigh = this.options.weight ?? (() => 1);
    const maxBytes = this.options.maxBatchBytes ?? Infinity;
    const batch: Entry<I, O>[] = [];
    let weight = 0;
    let bytes = 0;
    let taken = 0;
    for (; taken < this.waiting.length; taken++) {
      const entry = this.waiting[taken];
      if (entry.settled) {
        this.tombstones -= 1;
        continue;
      }
      if (entry.gone?.()) {
        this.drop(entry, new GroupCommitAbortedError(this.options.name));
        continue;
      }
      const itemWeight = Math.max(1, weigh(entry.item as I));
      if (batch.length > 0 && (weight + itemWeight > this.options.maxBatchWeight || bytes + entry.bytes > maxBytes)) {
        break;
      }
      weight += itemWeight;
      bytes += entry.bytes;
      entry.writing = true;
      batch.push(entry);
    }
    this.waiting.splice(0, taken);
    return batch;
  }

  /** Writes one batch; never rejects (each entry is settled with its own outcome). */
  private async writeShared(batch: Entry<I, O>[]): Promise<void> {
    const { refused, sqlState, failure } = await writeApartOnDataError(
      batch.map((entry) => entry.item as I),
      this.write,
      (index, outcome) =>
        outcome.ok ? this.succeed(batch[index], outcome.value) : this.fail(batch[index], outcome.error),
      (index) => batch[index].settled,
    );
    if (failure !== undefined) this.noteFailure(failure, batch.length);
    if (refused > 0) {
      this.logger.warn({
        msg: 'the database refused items of a shared write (data error); the others were written',
        batcher: this.options.name,
        sqlState,
        items: batch.length,
        refused,
      });
    }
  }

  private succeed(entry: Entry<I, O>, value: O): void {
    if (this.finish(entry)) entry.resolve(value);
  }

  private fail(entry: Entry<I, O>, error: unknown): void {
    if (this.finish(entry)) entry.reject(error);
  }

  /** False when the entry was settled already (abandoned, then its write ended). */
  private finish(entry: Entry<I, O>): boolean {
    if (entry.settled) return false;
    entry.settled = true;
    return true;
  }

  /** Timed out or abandoned: the caller is answered now; a waiting item is dropped (its memory freed). */
  private abandon(entry: Entry<I, O>, error: Error): void {
    if (entry.writing) {
      this.fail(entry, error);
      return;
    }
    if (!this.drop(entry, error)) return;
    this.tombstones += 1;
    if (this.tombstones > 1024 && this.tombstones * 2 > this.waiting.length) {
      this.waiting = this.waiting.filter((waiting) => !waiting.settled);
      this.tombstones = 0;
    }
  }

  /** Answers a waiting entry with `error` and frees what it holds; false when it was settled already. */
  private drop(entry: Entry<I, O>, error: Error): boolean {
    if (!this.finish(entry)) return false;
    entry.reject(error);
    entry.item = undefined;
    this.release(entry);
    return true;
  }

  private release(entry: Entry<I, O>): void {
    if (entry.released) return;
    entry.released = true;
    this.held -= 1;
    this.heldBytes -= entry.bytes;
  }

  private deadlineOf(item: I): number {
    const { timeoutMs } = this.options;
    if (timeoutMs === undefined) return Infinity;
    return Date.now() + (typeof timeoutMs === 'number' ? timeoutMs : timeoutMs(item));
  }

  private armExpiry(): void {
    if (this.expiry) return;
    this.expiry = setInterval(() => this.expire(), EXPIRY_TICK_MS);
    this.expiry.unref();
  }

  private expire(): void {
    const now = Date.now();
    const { name } = this.options;
    const check = (entry: Entry<I, O>) => {
      if (entry.settled) return;
      if (entry.deadline <= now) this.abandon(entry, new GroupCommitTimeoutError(name));
      else if (entry.gone?.()) this.abandon(entry, new GroupCommitAbortedError(name));
    };
    for (const batch of this.writing) batch.forEach(check);
    this.waiting.forEach(check);
    if (this.held === 0) {
      clearInterval(this.expiry);
      this.expiry = undefined;
    }
  }

  private noteFailure(error: unknown, items: number): void {
    const now = Date.now();
    if (now - this.lastFailureLog < 5000) return;
    this.lastFailureLog = now;
    this.logger.warn({
      msg: 'shared write failed',
      batcher: this.options.name,
      items,
      ...describeDatabaseError(error),
    });
  }

  private noteFull(): void {
    const now = Date.now();
    if (now - this.lastFullLog < 5000) return;
    this.lastFullLog = now;
    this.logger.warn({
      msg: 'refusing new items: the batcher is at its bound',
      batcher: this.options.name,
      pending: this.held,
      pendingBytes: this.heldBytes,
    });
  }
}

export type WriteOutcome<O> = { ok: true; value: O } | { ok: false; error: unknown };

/**
 * The isolation rule, for GroupCommit and for any writer that shares one statement between callers:
 * `write` is one statement (nothing of it is kept when it fails). On a data error the items are written
 * again in halves until the refused one is alone; on any other failure every item gets that failure.
 * `settle` is called once per item (by index) as soon as its outcome is known; `skip` leaves out items
 * nobody waits for any more when halves are written again.
 */
export async function writeApartOnDataError<I, O>(
  items: readonly I[],
  write: (items: I[]) => Promise<O[]>,
  settle: (index: number, outcome: WriteOutcome<O>) => void,
  skip: (index: number) => boolean = () => false,
): Promise<{ refused: number; sqlState?: string; failure?: unknown }> {
  const summary: { refused: number; sqlState?: string; failure?: unknown } = { refused: 0 };
  const attempt = async (indexes: number[]): Promise<void> => {
    let results: O[];
    try {
      results = await write(indexes.map((index) => items[index]));
    } catch (error) {
      if (!isDataError(error)) {
        summary.failure ??= error;
        for (const index of indexes) settle(index, { ok: false, error });
        return;
      }
      if (indexes.length === 1) {
        summary.refused += 1;
        summary.sqlState ??= sqlStateOf(error);
        settle(indexes[0], { ok: false, error });
        return;
      }
      // One half after the other, so isolating adds no concurrency on the database.
      const open = indexes.filter((index) => !skip(index));
      const half = Math.ceil(open.length / 2);
      if (half > 0) await attempt(open.slice(0, half));
      if (open.length > half) await attempt(open.slice(half));
      return;
    }
    indexes.forEach((index, position) => settle(index, { ok: true, value: results[position] }));
  };
  await attempt(items.map((_, index) => index));
  return summary;
}
