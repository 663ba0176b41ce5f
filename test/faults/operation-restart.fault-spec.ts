import request from 'supertest';
import { DataCipher, sealedIn } from '../../src/platform/crypto/data-cipher';
import { uuidv7 } from '../../src/platform/crypto/ids';
import { ACCOUNT_ID, messagingItem } from '../support/meta-payloads';
import { startTestApp, TestApp } from '../support/test-app';
import { waitFor } from '../support/wait';
import { ApiProcess, graphTally, killAndWait, log, startApiProcess } from './support';

const OPS = 'sb_ops_operation-restart-key-0123456789ab';
const LETTERS = 3000;
const ACCOUNT = ACCOUNT_ID;

interface OperationView {
  status: string;
  total: number;
  done: number;
}

describe('a bulk replay survives the death of the process running it', () => {
  /** Instance 2: an API without workers, where the progress is read. */
  let t: TestApp;
  /** Instance 1: API and workers; it runs the replay, is SIGKILLed halfway, and started again. */
  let first: ApiProcess | undefined;

  beforeAll(async () => {
    t = await startTestApp({ env: { OPS_API_KEYS: OPS, WORKERS_ENABLED: 'false', LOG_LEVEL: 'warn' } });
  });
  afterAll(async () => {
    await killAndWait(first, 'SIGKILL');
    await t?.close();
  });

  const instanceOne = (concurrency: number) =>
    startApiProcess({
      OPS_API_KEYS: OPS,
      WORKERS_ENABLED: 'true',
      WORKER_CONCURRENCY: String(concurrency),
      LOG_LEVEL: 'warn',
    });

  /** Messages whose processing failed for good: an event, no reply yet, a pending dead letter each. */
  async function seed(): Promise<void> {
    const cipher = t.app.get(DataCipher);
    const ids = Array.from({ length: LETTERS }, () => uuidv7());
    const payloads = ids.map((id, i) =>
      cipher.encryptJson(
        messagingItem({ mid: `oprst_${i}`, sender: `u-oprst_${i}`, text: 'hello' }),
        sealedIn('inbound_events.payload', id),
      ),
    );
    await t.db.pool.query(
      `WITH receipt AS (
         INSERT INTO webhook_receipts (id, provider, correlation_id, body_bytes, event_count)
         VALUES (gen_random_uuid(), 'instagram', 'seed', 0, $2) RETURNING id
       ), events AS (
         INSERT INTO inbound_events (id, receipt_id, provider, kind, channel, idempotency_key, account_id, sender_id,
                                     recipient_id, meta_message_id, occurred_at, payload, correlation_id, status,
                                     last_error_category)
         SELECT ($4::uuid[])[g], receipt.id, 'instagram', 'message', 'messaging', 'message:oprst_' || (g - 1), $1,
                'u-oprst_' || (g - 1), $1, 'oprst_' || (g - 1), now(), ($3::bytea[])[g], 'seed-' || g, 'failed',
                'network'
           FROM receipt, generate_series(1, $2) g
         RETURNING id, correlation_id
       )
       INSERT INTO dead_letters (id, event_id, provider, correlation_id, category, error, attempts, job_id)
       SELECT gen_random_uuid(), id, 'instagram', correlation_id, 'network', 'Graph API unreachable (ECONNREFUSED)', 3, id
         FROM events`,
      [ACCOUNT, LETTERS, payloads, ids],
    );
  }

  it('completes after a SIGKILL and a restart: every reply sent once, progress monotone', async () => {
    await seed();
    // Slow replies: the queue fills, and the paced replay holds at its high water long enough to be killed there.
    t.graph.defaultAnswer = () => ({ status: 200, delayMs: 100 });
    first = await instanceOne(10);
    const started = await request(first.url)
      .post('/admin/dead-letters/replay')
      .set('authorization', `Bearer ${OPS}`)
      .send({ filter: { category: 'network' } });
    expect(started.status).toBe(202);
    const id = started.body.operationId as string;

    const seen: number[] = [];
    const read = async () => {
      const view = (await request(t.url).get(`/admin/operations/${id}`).set('authorization', `Bearer ${OPS}`))
        .body as OperationView;
      seen.push(view.done);
      return view;
    };
    await waitFor(async () => (await read()).done >= LETTERS / 2, { timeoutMs: 30_000, message: 'halfway' });
    await killAndWait(first, 'SIGKILL');
    const atKill = await read();
    log(`instance 1 killed with the replay at ${atKill.done} of ${atKill.total} (${t.graph.requests.length} replies)`);
    expect(atKill.status).toBe('running');

    t.graph.defaultAnswer = () => ({ status: 200 });
    first = await instanceOne(50);
    const done = await waitFor(
      async () => {
        const view = await read();
        return view.status === 'completed' ? view : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 250, message: 'the replay to complete on the restarted instance' },
    );
    expect(done).toMatchObject({ total: LETTERS, done: LETTERS });
    expect(seen).toEqual([...seen].sort((a, b) => a - b));

    await waitFor(
      async () => {
        const { rows } = await t.db.pool.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM inbound_events WHERE meta_message_id LIKE 'oprst\\_%' AND status = 'processed'`,
        );
        return rows[0].n === LETTERS;
      },
      { timeoutMs: 120_000, intervalMs: 500, message: 'every replayed event processed' },
    );
    const replies = await t.db.pool.query<{ status: string; n: number }>(
      `SELECT r.status, count(*)::int AS n FROM replies r JOIN inbound_events e ON e.id = r.event_id
        WHERE e.meta_message_id LIKE 'oprst\\_%' GROUP BY 1`,
    );
    const byStatus = Object.fromEntries(replies.rows.map((row) => [row.status, row.n]));
    log(`replies: ${JSON.stringify(byStatus)}`);
    const tally = graphTally(t);
    expect(tally.duplicates).toBe(0);
    // A reply in flight at the kill is `unknown` (never resent blindly); every other one is sent, once.
    expect((byStatus.sent ?? 0) + (byStatus.unknown ?? 0)).toBe(LETTERS);
    expect(byStatus.unknown ?? 0).toBeLessThanOrEqual(10);
  });
});
