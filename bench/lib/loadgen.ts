import { createHmac } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Pool } from 'undici';

/**
 * The load generator, in its own process (forked with IPC) so its CPU is not the app's. Sends signed
 * single-message Instagram webhooks, closed loop (fixed concurrency) or open loop (fixed rate; latency
 * counted from the intended send time, so a stall is not hidden). Each sender id is
 * `<prefix>-<seq>-<sentAtMs>`: the fake Graph API derives end-to-end latency from the reply's recipient.
 */
export interface LoadSpec {
  url: string;
  secret: string;
  mode: 'closed' | 'open';
  /** closed: requests in flight. */
  concurrency?: number;
  /** open: requests per second. */
  rate?: number;
  /** Stop after this long, or after `count` requests, whichever comes first. */
  durationMs?: number;
  /**
   * open: send at the rate for this long first (on the same connections), and count only what is sent after it;
   * what the warm-up saw is reported as `warmup`. The first moments after an idle period (connections opened,
   * pools refilled) are a different figure from the steady state, and a 10 s run's p99 is mostly them.
   */
  warmupMs?: number;
  count?: number;
  prefix: string;
  /** Put `<marker><seq>` in every message's text (the privacy canary). */
  marker?: string;
  /** Spread the messages over this many clinic accounts (replies are paced per account). */
  accounts?: number;
}

export interface LoadResult {
  sent: number;
  ok: number;
  statuses: Record<string, number>;
  errors: number;
  elapsedMs: number;
  okPerSecond: number;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  max: number | null;
  startedAt: number;
  finishedAt: number;
  /** open with `warmupMs`: the requests sent during the warm-up (not in the figures above). */
  warmup?: { sent: number; ok: number; p50: number | null; p99: number | null; max: number | null };
}

const FIRST_ACCOUNT = 17841400000000000n;

export function signedMessage(spec: LoadSpec, seq: number, now: number): { body: string; signature: string } {
  const sender = `${spec.prefix}-${seq}-${now}`;
  const account = String(FIRST_ACCOUNT + BigInt(seq % (spec.accounts ?? 100)));
  const text = spec.marker ? `hello, my appointment ${spec.marker}${seq}` : 'hello, is the clinic open on Saturday?';
  const body = JSON.stringify({
    object: 'instagram',
    entry: [
      {
        id: account,
        time: now,
        messaging: [
          {
            sender: { id: sender },
            recipient: { id: account },
            timestamp: now,
            message: { mid: `m_${spec.prefix}_${seq}`, text },
          },
        ],
      },
    ],
  });
  return { body, signature: `sha256=${createHmac('sha256', spec.secret).update(body).digest('hex')}` };
}

const percentile = (sorted: Float64Array, p: number) =>
  sorted.length === 0
    ? null
    : Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] * 100) / 100;

export async function runLoad(spec: LoadSpec, progress?: (sent: number, ok: number) => void): Promise<LoadResult> {
  const url = new URL(spec.url);
  const connections = spec.mode === 'closed' ? (spec.concurrency ?? 50) : 256;
  const pool = new Pool(url.origin, { connections, pipelining: 1, keepAliveTimeout: 60_000 });
  const limit = spec.count ?? Number.MAX_SAFE_INTEGER;
  const latencies: number[] = [];
  const warmupMs = spec.mode === 'open' ? (spec.warmupMs ?? 0) : 0;
  const warm = { sent: 0, latencies: [] as number[] };
  /** BENCH_LATENCY_TRACE=<dir>: each run also writes "<ms since start>,<latency ms>" per acknowledged request. */
  const trace: string[] | undefined = process.env.BENCH_LATENCY_TRACE ? [] : undefined;
  const statuses: Record<string, number> = {};
  let sent = 0;
  let ok = 0;
  let errors = 0;
  const startedAt = Date.now();
  const t0 = performance.now();
  const deadline = spec.durationMs ? t0 + warmupMs + spec.durationMs : Number.POSITIVE_INFINITY;
  const ticker = progress ? setInterval(() => progress(sent, ok), 1000) : undefined;

  const fire = async (seq: number, intendedAt: number): Promise<void> => {
    const warmingUp = intendedAt - t0 < warmupMs;
    if (warmingUp) warm.sent += 1;
    const { body, signature } = signedMessage(spec, seq, Date.now());
    try {
      const response = await pool.request({
        method: 'POST',
        path: url.pathname,
        headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature },
        body,
      });
      await response.body.dump();
      const latency = performance.now() - intendedAt;
      if (response.statusCode === 200) trace?.push(`${Math.round(intendedAt - t0)},${latency.toFixed(2)}`);
      if (warmingUp) {
        if (response.statusCode === 200) warm.latencies.push(latency);
        return;
      }
      statuses[response.statusCode] = (statuses[response.statusCode] ?? 0) + 1;
      if (response.statusCode === 200) {
        ok += 1;
        latencies.push(latency);
      }
    } catch {
      if (!warmingUp) errors += 1;
    }
  };

  if (spec.mode === 'closed') {
    const loop = async () => {
      while (sent < limit && performance.now() < deadline) {
        const seq = sent++;
        await fire(seq, performance.now());
      }
    };
    await Promise.all(Array.from({ length: spec.concurrency ?? 50 }, loop));
  } else {
    const rate = spec.rate ?? 1000;
    const inFlight = new Set<Promise<void>>();
    await new Promise<void>((resolve) => {
      const tick = setInterval(() => {
        const now = performance.now();
        const due = Math.min(limit, Math.floor(((Math.min(now, deadline) - t0) * rate) / 1000));
        while (sent < due) {
          const seq = sent++;
          const promise = fire(seq, t0 + (seq * 1000) / rate);
          inFlight.add(promise);
          void promise.finally(() => inFlight.delete(promise));
        }
        if (sent >= limit || now >= deadline) {
          clearInterval(tick);
          resolve();
        }
      }, 1);
    });
    await Promise.all(inFlight);
  }
  clearInterval(ticker);
  const elapsedMs = performance.now() - t0 - warmupMs;
  await pool.close();
  if (trace) {
    writeFileSync(join(process.env.BENCH_LATENCY_TRACE!, `${spec.prefix}-${spec.mode}.csv`), trace.join('\n'));
  }
  const sorted = Float64Array.from(latencies).sort();
  const warmSorted = Float64Array.from(warm.latencies).sort();
  return {
    sent: sent - warm.sent,
    ok,
    statuses,
    errors,
    elapsedMs: Math.round(elapsedMs),
    okPerSecond: Math.round((ok * 1000) / elapsedMs),
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: percentile(sorted, 100),
    startedAt,
    finishedAt: Date.now(),
    ...(warmupMs
      ? {
          warmup: {
            sent: warm.sent,
            ok: warm.latencies.length,
            p50: percentile(warmSorted, 50),
            p99: percentile(warmSorted, 99),
            max: percentile(warmSorted, 100),
          },
        }
      : {}),
  };
}

if (require.main === module && process.send) {
  process.once('message', (spec: LoadSpec) => {
    void runLoad(spec, (sent, ok) => process.send?.({ progress: { sent, ok } })).then(
      (result) => process.send?.({ result }, () => process.exit(0)),
      (error: Error) => process.send?.({ error: error.message }, () => process.exit(1)),
    );
  });
}
