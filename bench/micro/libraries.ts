import { Semaphore } from 'async-mutex';
import { LRUCache } from 'lru-cache';
import { randomBytes, randomFillSync } from 'node:crypto';
import { v7 } from 'uuid';
import { randomBytesPooled } from '../../src/platform/crypto/random-pool';
import { DeliverySlots } from '../../src/outbound/delivery/delivery-slots';
import { ConcurrencyGate } from '../../src/outbound/delivery/rate-limiter';

/**
 * The hand-made pieces of the delivery and ingest hot paths against the libraries that could replace them,
 * each in a tight loop (`npm run bench:micro`). Nanoseconds per operation, the best of five rounds.
 */

function best(rounds: number, run: () => number): number {
  let fastest = Infinity;
  for (let i = 0; i < rounds; i++) fastest = Math.min(fastest, run());
  return fastest;
}

function perOp(count: number, work: (i: number) => void): number {
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) work(i);
  return Number(process.hrtime.bigint() - started) / count;
}

async function perOpAsync(count: number, work: (i: number) => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) await work(i);
  return Number(process.hrtime.bigint() - started) / count;
}

/** The UUIDv7 Switchboard wrote by hand before the `uuid` package (pooled random bytes, hex slicing). */
function handMadeUuidv7(now = Date.now()): string {
  const bytes = randomBytesPooled(16);
  bytes.writeUIntBE(now, 0, 6);
  bytes[6] = 0x70 | (bytes[6] & 0x0f);
  bytes[8] = 0x80 | (bytes[8] & 0x3f);
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A map that forgets everything at 10,000 entries (what the caches did before lru-cache). */
class ClearingMap<V> {
  private readonly map = new Map<string, V>();
  get(key: string): V | undefined {
    return this.map.get(key);
  }
  set(key: string, value: V): void {
    if (!this.map.has(key) && this.map.size >= 10_000) this.map.clear();
    this.map.set(key, value);
  }
}

/** Up to `concurrency` runs in flight, `total` in all, through `run` (a slot per delivery, as a batch does). */
async function saturate(total: number, concurrency: number, run: (i: number) => Promise<void>): Promise<number> {
  const started = process.hrtime.bigint();
  await Promise.all(Array.from({ length: total }, (_, i) => run(i)));
  void concurrency;
  return Number(process.hrtime.bigint() - started) / total;
}

async function main(): Promise<void> {
  const rows: [string, string, number][] = [];
  const N = 500_000;

  rows.push(['uuid v7', 'hand-made (pooled bytes)', best(5, () => perOp(N, () => handMadeUuidv7()))]);
  rows.push(['uuid v7', 'uuid@11 v7()', best(5, () => perOp(N, () => v7()))]);

  rows.push(['AES-GCM IV (12 bytes)', 'hand-made pool', best(5, () => perOp(N, () => randomBytesPooled(12)))]);
  rows.push(['AES-GCM IV (12 bytes)', 'crypto.randomBytes', best(5, () => perOp(N, () => randomBytes(12)))]);
  rows.push([
    'AES-GCM IV (12 bytes)',
    'crypto.randomFillSync',
    best(5, () => perOp(N, () => randomFillSync(Buffer.allocUnsafe(12)))),
  ]);

  const keys = Array.from({ length: 200 }, (_, i) => `endpoint-${i}`);
  const clearing = new ClearingMap<number>();
  const lru = new LRUCache<string, number>({ max: 10_000 });
  for (const key of keys) {
    clearing.set(key, 1);
    lru.set(key, 1);
  }
  rows.push([
    'cache get+set (200 keys)',
    'Map cleared at 10,000',
    best(5, () => perOp(N, (i) => clearing.set(keys[i % 200], (clearing.get(keys[i % 200]) ?? 0) + 1))),
  ]);
  rows.push([
    'cache get+set (200 keys)',
    'lru-cache max 10,000',
    best(5, () => perOp(N, (i) => lru.set(keys[i % 200], (lru.get(keys[i % 200]) ?? 0) + 1))),
  ]);

  const work = () => new Promise<void>((resolve) => setImmediate(resolve));
  const A = 100_000;
  const slots = new DeliverySlots(200);
  rows.push([
    'worker slots (200, priority)',
    'DeliverySlots',
    best(5, () => 0) || (await bestAsync(5, () => saturate(A, 200, (i) => slots.run(i % 20, work)))),
  ]);
  const semaphore = new Semaphore(200);
  rows.push([
    'worker slots (200, priority)',
    'async-mutex Semaphore',
    await bestAsync(5, () => saturate(A, 200, (i) => semaphore.runExclusive(work, 1, i % 20))),
  ]);

  const gate = new ConcurrencyGate();
  rows.push([
    'endpoint cap (try, release)',
    'ConcurrencyGate',
    best(5, () =>
      perOp(N, (i) => {
        const k = keys[i % 200];
        if (gate.tryAcquire(k, 10)) gate.release(k);
      }),
    ),
  ]);
  const perEndpoint = new Map<string, Semaphore>();
  const semaphoreOf = (key: string) => {
    let found = perEndpoint.get(key);
    if (!found) perEndpoint.set(key, (found = new Semaphore(10)));
    return found;
  };
  rows.push([
    'endpoint cap (try, release)',
    'async-mutex Semaphore per endpoint',
    await bestAsync(5, () =>
      perOpAsync(N / 5, async (i) => {
        const s = semaphoreOf(keys[i % 200]);
        if (!s.isLocked()) {
          const [, release] = await s.acquire();
          release();
        }
      }),
    ),
  ]);

  const width = Math.max(...rows.map(([what, how]) => `${what}: ${how}`.length));
  for (const [what, how, ns] of rows)
    process.stdout.write(`${`${what}: ${how}`.padEnd(width)}  ${ns.toFixed(0).padStart(6)} ns/op\n`);
}

async function bestAsync(rounds: number, run: () => Promise<number>): Promise<number> {
  let fastest = Infinity;
  for (let i = 0; i < rounds; i++) fastest = Math.min(fastest, await run());
  return fastest;
}

void main();
