import { DatabaseError } from 'pg';
import {
  GroupCommit,
  GroupCommitAbortedError,
  GroupCommitFullError,
  GroupCommitOptions,
  GroupCommitTimeoutError,
} from './group-commit';

const options = (extra: Partial<GroupCommitOptions<number>> = {}): GroupCommitOptions<number> => ({
  name: 'test',
  maxBatchWeight: 100,
  maxInFlight: 1,
  maxPending: 1000,
  ...extra,
});

/** What pg rejects with when Postgres refuses a statement. */
function refused(sqlState: string): DatabaseError {
  const error = new DatabaseError('refused', 0, 'error');
  error.code = sqlState;
  return error;
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('GroupCommit', () => {
  it('writes a lone item at once and batches what arrives during a write', async () => {
    const batches: number[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const group = new GroupCommit<number, number>(async (items) => {
      batches.push(items);
      if (batches.length === 1) await gate;
      return items.map((item) => item * 2);
    }, options());
    const first = group.submit(1);
    await turn();
    const rest = [2, 3, 4].map((n) => group.submit(n));
    release();
    expect(await Promise.all([first, ...rest])).toEqual([2, 4, 6, 8]);
    expect(batches).toEqual([[1], [2, 3, 4]]);
  });

  it('splits batches by weight and by bytes', async () => {
    const sizes: number[] = [];
    const group = new GroupCommit<number, void>(
      async (items) => {
        sizes.push(items.reduce((a, b) => a + b, 0));
        return items.map(() => undefined);
      },
      options({ maxBatchWeight: 10, weight: (n) => n }),
    );
    await Promise.all([6, 6, 6, 20].map((n) => group.submit(n)));
    expect(sizes).toEqual([6, 6, 6, 20]);

    const counts: number[] = [];
    const byBytes = new GroupCommit<number, void>(
      async (items) => {
        counts.push(items.length);
        return items.map(() => undefined);
      },
      options({ bytes: () => 400, maxBatchBytes: 1000 }),
    );
    await Promise.all(Array.from({ length: 7 }, (_, i) => byBytes.submit(i)));
    expect(counts).toEqual([2, 2, 2, 1]);
  });

  it('on a data error, writes the batch again in halves: only the refused item fails', async () => {
    const writes: number[][] = [];
    const group = new GroupCommit<number, number>(async (items) => {
      writes.push(items);
      if (items.includes(13)) throw refused('23505');
      return items;
    }, options());
    const results = await Promise.allSettled(Array.from({ length: 40 }, (_, i) => group.submit(i)));
    const rejected = results.flatMap((result, i) => (result.status === 'rejected' ? [i] : []));
    expect(rejected).toEqual([13]);
    expect((results[13] as PromiseRejectedResult).reason.code).toBe('23505');
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(39);
    // Halving finds it in about 2·log2(n) statements, not n.
    expect(writes.length).toBeLessThan(16);
  });

  it('fails the whole batch on anything else (a lost connection, a timeout, a shutdown)', async () => {
    for (const error of [new Error('Connection terminated unexpectedly'), refused('57P01'), refused('57014')]) {
      let writes = 0;
      const group = new GroupCommit<number, number>(async () => {
        writes += 1;
        throw error;
      }, options());
      const results = await Promise.allSettled([1, 2, 3].map((n) => group.submit(n)));
      expect(results.every((result) => result.status === 'rejected' && result.reason === error)).toBe(true);
      expect(writes).toBe(1);
    }
  });

  it('refuses at once beyond its count and byte bounds, and admits a large item when nothing is pending', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const group = new GroupCommit<number, number>(
      async (items) => {
        await gate;
        return items;
      },
      options({ maxPending: 3, bytes: (n) => n, maxPendingBytes: 100 }),
    );
    const big = group.submit(500);
    await expect(group.submit(1)).rejects.toBeInstanceOf(GroupCommitFullError);
    release();
    expect(await big).toBe(500);
    await turn();

    const counted = [group.submit(10), group.submit(10), group.submit(10)];
    await expect(group.submit(10)).rejects.toBeInstanceOf(GroupCommitFullError);
    await Promise.all(counted);
    await turn();
    expect(group.pending).toBe(0);
    expect(group.pendingBytes).toBe(0);
  });

  it('drops an item whose caller went away before its write, freeing what it held', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const written: number[] = [];
    const group = new GroupCommit<number, number>(
      async (items) => {
        await gate;
        written.push(...items);
        return items;
      },
      options({ bytes: () => 1000 }),
    );
    const first = group.submit(1);
    await turn();
    let hungUp = false;
    const dropped = group.submit(2, () => hungUp);
    const kept = group.submit(3);
    expect(group.pendingBytes).toBe(3000);
    hungUp = true;
    await expect(dropped).rejects.toBeInstanceOf(GroupCommitAbortedError);
    expect(group.pendingBytes).toBe(2000);
    release();
    expect(await Promise.all([first, kept])).toEqual([1, 3]);
    expect(written).toEqual([1, 3]);
  });

  it('answers an item that is not written within timeoutMs, waiting or in flight', async () => {
    const group = new GroupCommit<number, number>(
      () => new Promise<number[]>(() => undefined),
      options({ timeoutMs: 80 }),
    );
    const startedAt = Date.now();
    const inFlight = group.submit(1);
    await turn();
    const results = await Promise.allSettled([inFlight, group.submit(2)]);
    expect(
      results.every((result) => result.status === 'rejected' && result.reason instanceof GroupCommitTimeoutError),
    ).toBe(true);
    expect(Date.now() - startedAt).toBeLessThan(500);
    // The write that never ended still holds its item; the one that never started holds nothing.
    expect(group.pending).toBe(1);
  });

  it('gives each item its own deadline when timeoutMs is a function of the item', async () => {
    const group = new GroupCommit<number, number>(
      (items) => new Promise<number[]>((resolve) => setTimeout(() => resolve(items), 300)),
      options({ timeoutMs: (n) => n }),
    );
    const [short, long] = await Promise.allSettled([group.submit(50), group.submit(5000)]);
    expect(short.status === 'rejected' && short.reason instanceof GroupCommitTimeoutError).toBe(true);
    expect(long).toEqual({ status: 'fulfilled', value: 5000 });
  });
});
