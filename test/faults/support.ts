import { ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Pool } from 'undici';
import { instagramEnvelope, messagingItem, sign } from '../support/meta-payloads';
import { TEST_APP_SECRET, TestApp } from '../support/test-app';
import { waitFor } from '../support/wait';

export const FAULT_DIST = join(__dirname, '../.artifacts/fault-dist');

export interface Burst {
  /** mid → HTTP status of the last answer (0: no answer). */
  statuses: Map<string, number>;
  acknowledged(): string[];
  done: Promise<void>;
}

/** One signed single-message webhook per mid; the sender id is the mid too, so a reply maps back to it. */
export function webhookFor(mid: string, text = 'hello from the fault suite'): { body: string; signature: string } {
  const body = instagramEnvelope([messagingItem({ mid, sender: `u-${mid}`, text })]);
  return { body, signature: sign(body, TEST_APP_SECRET) };
}

/** Posts `mids` with `concurrency` requests in flight; never throws (a refused connection is status 0). */
export function postBurst(url: string, mids: string[], concurrency = 32): Burst {
  const origin = new URL(url).origin;
  const pool = new Pool(origin, { connections: concurrency });
  const statuses = new Map<string, number>();
  let next = 0;
  const one = async (mid: string) => {
    const { body, signature } = webhookFor(mid);
    try {
      const response = await pool.request({
        method: 'POST',
        path: '/webhooks/instagram',
        headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature },
        body,
        headersTimeout: 15_000,
      });
      await response.body.dump();
      statuses.set(mid, response.statusCode);
    } catch {
      statuses.set(mid, 0);
    }
  };
  const loop = async () => {
    while (next < mids.length) await one(mids[next++]);
  };
  const done = Promise.all(Array.from({ length: concurrency }, loop)).then(() => pool.close());
  return {
    statuses,
    acknowledged: () => [...statuses].filter(([, status]) => status === 200).map(([mid]) => mid),
    done,
  };
}

export const mids = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `${prefix}_${i}`);

/** Per recipient: how many Send API calls the fake received, and how many it answered 2xx. */
export function graphTally(t: Pick<TestApp, 'graph'>): {
  calls: Map<string, number>;
  duplicates: number;
  recipients: number;
} {
  const calls = new Map<string, number>();
  for (const request of t.graph.requests) {
    const recipient = request.body.recipient?.id ?? '';
    calls.set(recipient, (calls.get(recipient) ?? 0) + 1);
  }
  const duplicates = [...calls.values()].reduce((sum, n) => sum + Math.max(0, n - 1), 0);
  return { calls, duplicates, recipients: calls.size };
}

export interface Outcome {
  events: number;
  processed: number;
  unfinished: number;
  deadLettered: number;
  repliesSent: number;
  repliesUnknown: number;
  repliesOther: number;
}

export async function outcome(t: Pick<TestApp, 'db'>, prefix: string): Promise<Outcome> {
  const { rows } = await t.db.pool.query(
    `SELECT count(*)::int AS events,
            count(*) FILTER (WHERE e.status = 'processed')::int AS processed,
            count(*) FILTER (WHERE e.status IN ('received', 'processing'))::int AS unfinished,
            count(*) FILTER (WHERE e.status NOT IN ('received', 'processing', 'processed'))::int AS "deadLettered",
            count(r.id) FILTER (WHERE r.status = 'sent')::int AS "repliesSent",
            count(r.id) FILTER (WHERE r.status = 'unknown')::int AS "repliesUnknown",
            count(r.id) FILTER (WHERE r.status NOT IN ('sent', 'unknown'))::int AS "repliesOther"
       FROM inbound_events e LEFT JOIN replies r ON r.event_id = e.id
      WHERE e.kind = 'message' AND e.meta_message_id LIKE $1`,
    [`${prefix}\\_%`],
  );
  return rows[0] as Outcome;
}

/** Waits until every acknowledged event is finished, then checks the invariants every fault case shares. */
export async function expectEverythingProcessedOnce(
  t: Pick<TestApp, 'db' | 'graph'>,
  prefix: string,
  acknowledged: string[],
  timeoutMs = 120_000,
) {
  const ackSet = new Set(acknowledged);
  await waitFor(
    async () => {
      const now = await outcome(t, prefix);
      return now.unfinished === 0 && now.events >= ackSet.size ? now : undefined;
    },
    { timeoutMs, intervalMs: 500 },
  );
  const { rows } = await t.db.pool.query<{ mid: string }>(
    `SELECT meta_message_id AS mid FROM inbound_events WHERE kind = 'message' AND meta_message_id LIKE $1`,
    [`${prefix}\\_%`],
  );
  const stored = new Set(rows.map((row) => row.mid));
  const lost = acknowledged.filter((mid) => !stored.has(mid));
  const final = await outcome(t, prefix);
  const tally = graphTally(t);
  const sentRecipients = await t.db.pool.query<{ recipient: string }>(
    `SELECT e.sender_id AS recipient FROM replies r JOIN inbound_events e ON e.id = r.event_id
      WHERE r.status = 'sent' AND e.meta_message_id LIKE $1`,
    [`${prefix}\\_%`],
  );
  const sentWithoutCall = sentRecipients.rows.filter((row) => (tally.calls.get(row.recipient) ?? 0) === 0).length;
  return { lost, final, tally, sentWithoutCall };
}

/** A standalone worker process (`node dist/worker.js`) over the test app's database, queue and Graph fake. */
export function startWorker(extraEnv: Record<string, string> = {}): {
  child: ChildProcess;
  exited: Promise<number | null>;
  stderr: () => string;
} {
  const child = spawn(process.execPath, [join(FAULT_DIST, 'worker.js')], {
    env: { ...process.env, LOG_FILE: `${process.env.LOG_FILE ?? '/dev/null'}.worker`, ...extraEnv },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited, stderr: () => stderr };
}

export interface ApiProcess {
  child: ChildProcess;
  url: string;
  exited: Promise<number | null>;
  stderr: () => string;
  /** Resident memory of the process, in bytes (Linux). */
  rss(): number;
}

/** The API process (`node dist/main.js`, workers in process) on a free port, once `/health` answers. */
export async function startApiProcess(env: Record<string, string>): Promise<ApiProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [join(FAULT_DIST, 'main.js')], {
    env: { ...process.env, ...env, PORT: String(port) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`the API process exited: ${stderr}`);
      return (await fetch(`${url}/health`).catch(() => undefined))?.ok;
    },
    { timeoutMs: 60_000, intervalMs: 200, message: 'the API process to listen' },
  );
  const rss = () => {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  };
  return { child, url, exited, stderr: () => stderr, rss };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export async function killAndWait(
  worker: { child: ChildProcess; exited: Promise<number | null> } | undefined,
  signal: NodeJS.Signals = 'SIGKILL',
) {
  if (!worker || worker.child.exitCode !== null || worker.child.signalCode !== null) return;
  worker.child.kill(signal);
  await worker.exited;
}

export function log(message: string): void {
  process.stderr.write(`[faults] ${message}\n`);
}
