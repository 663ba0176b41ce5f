import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';

/**
 * A stand-in Graph API for the benchmarks, run as its own process so its work does not count against
 * the app. Every reply answers after REPLY_DELAY_MS. Recipient ids are `<prefix>-<seq>-<sentAtMs>`
 * (the load generator puts its send time in the sender id), so end-to-end latency needs no lookup.
 *   GET  /__stats?prefix=P → counts, duplicates and latency percentiles for recipients starting with P
 *   POST /__reset          → forget everything
 */
const delayMs = Number(process.env.REPLY_DELAY_MS ?? 20);

interface Tally {
  requests: number;
  recipients: Map<string, number>;
  latencies: number[];
  firstArrival: number;
  lastArrival: number;
}

let tallies = new Map<string, Tally>();
let counter = 0;

const prefixOf = (recipient: string) => recipient.slice(0, Math.max(0, recipient.indexOf('-')));

function record(recipient: string, now: number): void {
  const prefix = prefixOf(recipient);
  let tally = tallies.get(prefix);
  if (!tally) {
    tally = { requests: 0, recipients: new Map(), latencies: [], firstArrival: now, lastArrival: now };
    tallies.set(prefix, tally);
  }
  tally.requests += 1;
  tally.lastArrival = now;
  const seen = tally.recipients.get(recipient) ?? 0;
  tally.recipients.set(recipient, seen + 1);
  const sentAt = Number(recipient.slice(recipient.lastIndexOf('-') + 1));
  if (seen === 0 && Number.isFinite(sentAt)) tally.latencies.push(now - sentAt);
}

function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function stats(prefix: string): Record<string, unknown> {
  const tally = tallies.get(prefix);
  if (!tally) return { requests: 0, unique: 0, duplicates: 0 };
  const sorted = [...tally.latencies].sort((a, b) => a - b);
  return {
    requests: tally.requests,
    unique: tally.recipients.size,
    duplicates: tally.requests - tally.recipients.size,
    firstArrival: tally.firstArrival,
    lastArrival: tally.lastArrival,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? null,
  };
}

function answer(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

const server = createServer((req: IncomingMessage, res: ServerResponse) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const url = new URL(req.url ?? '/', 'http://fake');
    if (url.pathname === '/__stats') return answer(res, 200, stats(url.searchParams.get('prefix') ?? ''));
    if (url.pathname === '/__reset') {
      tallies = new Map();
      return answer(res, 200, {});
    }
    let recipient = '';
    try {
      recipient = String(JSON.parse(Buffer.concat(chunks).toString('utf8'))?.recipient?.id ?? '');
    } catch {
      recipient = '';
    }
    record(recipient, Date.now());
    setTimeout(() => answer(res, 200, { recipient_id: recipient, message_id: `m_bench_${++counter}` }), delayMs);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  process.send?.({ port: (server.address() as AddressInfo).port });
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
process.on('disconnect', () => process.exit(0));
