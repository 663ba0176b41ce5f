import { Queue } from 'bullmq';
import request from 'supertest';
import {
  DeadLetterReplayOperation,
  REPLAY_HIGH_WATER,
  REPLAY_PAGE,
  toReplayFilter,
} from '../src/dead-letters/dead-letter-replay.operation';
import { ReplayRepository } from '../src/inbound/replay/replay.repository';
import { openQueue, startTestApp, TestApp } from './support/test-app';
import { waitFor } from './support/wait';

const OPS = 'ops-test-key-0123456789abcdefxxx';
const LETTERS = 3000;
/** Pages of 500 go out until more than REPLAY_HIGH_WATER jobs wait; then the replay holds. */
const HELD = Math.ceil((REPLAY_HIGH_WATER + 1) / REPLAY_PAGE) * REPLAY_PAGE;

interface OperationView {
  id: string;
  kind: string;
  status: string;
  total: number;
  done: number;
  failed: number;
  actor: string;
  finishedAt: string | null;
}

describe('durable operations: a bulk replay started on one instance, run by another, read from both', () => {
  /** The API without workers: where the replay is started. */
  let api: TestApp;
  /** A second instance over the same database and queues, with the workers: it runs the operation. */
  let worker: TestApp;
  let inbound: Queue;

  beforeAll(async () => {
    api = await startTestApp({ env: { OPS_API_KEYS: OPS, WORKERS_ENABLED: 'false' } });
    worker = await startTestApp({
      db: api.db,
      prefix: api.prefix,
      graph: api.graph,
      env: { OPS_API_KEYS: OPS, DATA_ENCRYPTION_KEY: api.config.keyring.keys[0].key.toString('base64') },
    });
    inbound = openQueue(api, 'inbound-events');
    // The relay's first pass re-enqueues every unfinished event when Redis has no marker yet: let it run first.
    await waitFor(() => api.redis.get(`${api.prefix}:relay:epoch`), { message: 'first relay pass' });
  });
  afterAll(async () => {
    await inbound?.close();
    await worker?.close();
    await api?.close();
  });

  const ops = (t: TestApp) => ({
    get: (path: string) => request(t.url).get(path).set('authorization', `Bearer ${OPS}`),
    post: (path: string, body: object = {}) =>
      request(t.url).post(path).set('authorization', `Bearer ${OPS}`).send(body),
  });
  const operation = async (t: TestApp, id: string) =>
    (await ops(t).get(`/admin/operations/${id}`)).body as OperationView;
  const waiting = async () => {
    const counts = await inbound.getJobCounts('waiting', 'prioritized');
    return (counts.waiting ?? 0) + (counts.prioritized ?? 0);
  };

  /** Failed 'read' events (no reply to send), each with its pending dead letter. */
  async function seed(category: string): Promise<void> {
    await api.db.pool.query(
      `WITH receipt AS (
         INSERT INTO webhook_receipts (id, provider, correlation_id, body_bytes, event_count)
         VALUES (gen_random_uuid(), 'instagram', 'seed', 0, $2) RETURNING id
       ), events AS (
         INSERT INTO inbound_events (id, receipt_id, provider, kind, channel, idempotency_key, correlation_id, status,
                                     last_error_category)
         SELECT gen_random_uuid(), receipt.id, 'instagram', 'read', 'messaging', $1 || ':' || g, 'seed-' || g,
                'failed', $1
           FROM receipt, generate_series(1, $2) g
         RETURNING id, correlation_id
       )
       INSERT INTO dead_letters (id, event_id, provider, correlation_id, category, error, attempts, job_id)
       SELECT gen_random_uuid(), id, 'instagram', correlation_id, $1, 'Graph API unreachable (ECONNREFUSED)', 3, id
         FROM events`,
      [category, LETTERS],
    );
  }

  it('is paced (it waits while the queue is full), read from either instance, monotone, and completes', async () => {
    await seed('network');
    // No inbound worker takes jobs: the replay fills the queue to its high water and holds there.
    await inbound.pause();
    const started = await ops(api).post('/admin/dead-letters/replay', { filter: { category: 'network' } });
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({ dryRun: false, matched: LETTERS, status: 'running', actor: 'env:ops:1' });
    const id = started.body.operationId as string;
    expect(started.body.replayId).toBe(id);

    const seen: number[] = [];
    await waitFor(
      async () => {
        const now = await operation(worker, id);
        seen.push(now.done);
        return now.done === HELD && (await waiting()) === HELD;
      },
      { message: `${HELD} replayed and waiting` },
    );
    // Several polls of the paced loop later it still holds, and both instances say so.
    for (let i = 0; i < 4; i++) {
      await waitFor(async () => (await waiting()) === HELD, { timeoutMs: 300 });
      expect(await operation(api, id)).toMatchObject({ status: 'running', done: HELD, total: LETTERS });
    }
    expect(await waiting()).toBe(HELD);

    await inbound.resume();
    const done = await waitFor(async () => {
      const now = await operation(api, id);
      seen.push(now.done);
      return now.status === 'completed' ? now : null;
    });
    expect(done).toMatchObject({ kind: 'dead-letters.replay', total: LETTERS, done: LETTERS, failed: 0 });
    expect(done.finishedAt).not.toBeNull();
    expect(seen).toEqual([...seen].sort((a, b) => a - b));

    // The old route answers, as a view of the operation.
    const old = await ops(worker).get(`/admin/dead-letters/replays/${id}`);
    expect(old.body).toMatchObject({ status: 'finished', replayed: LETTERS, matched: LETTERS });
    const audited = await api.db.pool.query(
      `SELECT count(*)::int AS n FROM audit_log WHERE action = 'deadletter.replayed' AND metadata->>'bulkReplayId' = $1`,
      [id],
    );
    expect(audited.rows[0].n).toBe(LETTERS);
    await waitFor(async () => {
      const { rows } = await api.db.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM inbound_events WHERE idempotency_key LIKE 'network:%' AND status = 'processed'`,
      );
      return rows[0].n === LETTERS;
    });

    const list = await ops(api).get('/admin/operations?status=completed&kind=dead-letters.replay');
    expect(list.body.items.map((item: OperationView) => item.id)).toContain(id);
  });

  it('a cancel stops it within a second and says how many it did', async () => {
    await seed('timeout');
    await inbound.pause();
    const started = await ops(api).post('/admin/dead-letters/replay', { filter: { category: 'timeout' } });
    const id = started.body.operationId as string;
    await waitFor(async () => (await operation(worker, id)).done === HELD, { message: 'replay holding' });

    const asked = Date.now();
    const cancelled = await ops(api).post(`/admin/operations/${id}/cancel`);
    expect(Date.now() - asked).toBeLessThan(1000);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ status: 'cancelled', done: HELD, cancelRequested: true });

    await inbound.resume();
    // The queue drains; the cancelled replay takes no more letters.
    await waitFor(async () => (await waiting()) === 0, { message: 'queue drained' });
    const replayed = await api.db.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM dead_letters WHERE category = 'timeout' AND status = 'replayed'`,
    );
    expect(replayed.rows[0].n).toBe(HELD);
    expect(await operation(worker, id)).toMatchObject({ status: 'cancelled', done: HELD });
    expect((await ops(api).post(`/admin/operations/${id}/cancel`)).body.status).toBe('cancelled');
    expect((await ops(api).get(`/admin/dead-letters/replays/${id}`)).body.status).toBe('cancelled');
    const audit = await api.db.pool.query(`SELECT actor FROM audit_log WHERE action = 'operation.cancelled'`);
    expect(audit.rows).toEqual([{ actor: 'env:ops:1' }, { actor: 'env:ops:1' }]);
  });

  it('a batch run again after a crash between its statement and its addBulk queues what it had marked, once', async () => {
    await seed('crash');
    await inbound.pause();
    try {
      const kind = worker.app.get(DeadLetterReplayOperation);
      const filter = toReplayFilter({ category: 'crash' }, new Date());
      const run = { id: '00000000-0000-7000-8000-0000000000aa', actor: 'test', createdAt: new Date(Date.now() - 1000) };
      // The crashed run: its statement marked the first page replayed; its jobs never reached Redis.
      const { rows } = await api.db.pool.query<{ id: string }>(
        `SELECT id FROM dead_letters WHERE category = 'crash' ORDER BY created_at, id LIMIT $1`,
        [REPLAY_PAGE],
      );
      const marked = await worker.app.get(ReplayRepository).markReplayed(
        rows.map((row) => row.id),
        'test',
        run.id,
      );
      expect(marked).toHaveLength(REPLAY_PAGE);
      const before = await waiting();

      const again = await kind.runBatch(filter, null, { ...run, resumed: true });
      expect(again).toMatchObject({ done: REPLAY_PAGE, failed: 0 });
      expect((await waiting()) - before).toBe(REPLAY_PAGE);
      const job = await inbound.getJob(`${marked[0].eventId}-replay-1`);
      expect(job?.data).toEqual({ eventId: marked[0].eventId });
      // The same batch once more adds nothing: the jobs are there under the same ids.
      await kind.runBatch(filter, null, { ...run, resumed: true });
      expect((await waiting()) - before).toBe(REPLAY_PAGE);
    } finally {
      await inbound.obliterate({ force: true });
      await inbound.resume();
    }
  });

  it('answers 404 for an unknown operation and 409 when cancelling one that completed', async () => {
    expect((await ops(api).get('/admin/operations/00000000-0000-7000-8000-000000000000')).status).toBe(404);
    expect((await ops(api).get('/admin/operations/nope')).status).toBe(404);
    const [done] = (await ops(api).get('/admin/operations?status=completed')).body.items as OperationView[];
    expect((await ops(api).post(`/admin/operations/${done.id}/cancel`)).status).toBe(409);
    expect((await request(api.url).get('/admin/operations')).status).toBe(401);
  });
});
