import request from 'supertest';
import { REPLAY_HIGH_WATER, REPLAY_PAGE } from '../src/dead-letters/dead-letter.service';
import { InboundEventProducer } from '../src/inbound/queue/inbound-event.producer';
import { startTestApp, TestApp } from './support/test-app';
import { waitFor } from './support/wait';

const OPS = 'ops-test-key-0123456789abcdefxxx';
const LETTERS = 3000;

describe('admin: a large bulk replay is paced (API process without workers)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ env: { OPS_API_KEYS: OPS, WORKERS_ENABLED: 'false' } });
    await t.db.pool.query(
      `WITH receipt AS (
         INSERT INTO webhook_receipts (id, provider, correlation_id, body_bytes, event_count)
         VALUES (gen_random_uuid(), 'instagram', 'seed', 0, ${LETTERS}) RETURNING id
       ), events AS (
         INSERT INTO inbound_events (id, receipt_id, provider, kind, channel, idempotency_key, correlation_id, status,
                                     last_error_category)
         SELECT gen_random_uuid(), receipt.id, 'instagram', 'read', 'messaging', 'seed:' || g, 'seed-' || g, 'failed',
                'network'
           FROM receipt, generate_series(1, ${LETTERS}) g
         RETURNING id, correlation_id
       )
       INSERT INTO dead_letters (id, event_id, provider, correlation_id, category, error, attempts, job_id)
       SELECT gen_random_uuid(), id, 'instagram', correlation_id, 'network', 'Graph API unreachable (ECONNREFUSED)', 3, id
         FROM events`,
    );
  });
  afterAll(async () => {
    await t?.close();
  });

  it('enqueues page by page and waits while the queue is full, then finishes when it drains', async () => {
    const queue = t.app.get(InboundEventProducer).queue;
    // The relay's first pass re-enqueues every unfinished event when Redis has no marker yet: let it run first.
    await waitFor(() => t.redis.get(`${t.prefix}:relay:epoch`), { message: 'first relay pass' });
    const res = await request(t.url)
      .post('/admin/dead-letters/replay')
      .set('authorization', `Bearer ${OPS}`)
      .send({ filter: { category: 'network' } });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ matched: LETTERS, status: 'running' });
    const progress = () =>
      request(t.url)
        .get(`/admin/dead-letters/replays/${res.body.replayId}`)
        .set('authorization', `Bearer ${OPS}`)
        .then((r) => r.body as { status: string; replayed: number });

    // Pages of 500 until more than REPLAY_HIGH_WATER jobs wait; then it holds.
    const held = Math.ceil((REPLAY_HIGH_WATER + 1) / REPLAY_PAGE) * REPLAY_PAGE;
    let most = 0;
    await waitFor(
      async () => {
        const waiting = (await queue.getJobCounts('waiting')).waiting ?? 0;
        most = Math.max(most, waiting);
        return waiting === held;
      },
      { message: `${held} jobs waiting` },
    );
    await waitFor(async () => (await progress()).replayed === held, { message: `${held} replayed` });
    // Several polls of the paced loop later, it is still holding.
    for (let i = 0; i < 4; i++) {
      const before = await progress();
      expect(before).toMatchObject({ status: 'running', replayed: held });
      await waitFor(async () => (await queue.getJobCounts('waiting')).waiting === held, { timeoutMs: 300 });
    }
    expect(most).toBeLessThanOrEqual(held);
    expect(
      (await t.db.pool.query(`SELECT count(*)::int AS n FROM dead_letters WHERE status = 'pending'`)).rows[0].n,
    ).toBe(LETTERS - held);

    // Jobs leave the queue (as workers would take them): the replay goes on and finishes.
    await queue.drain();
    const done = await waitFor(async () => {
      const p = await progress();
      return p.status === 'finished' ? p : null;
    });
    expect(done.replayed).toBe(LETTERS);
    const { rows } = await t.db.pool.query<{ status: string; n: number }>(
      `SELECT d.status || '/' || e.status AS status, count(*)::int AS n
         FROM dead_letters d JOIN inbound_events e ON e.id = d.event_id GROUP BY 1`,
    );
    expect(rows).toEqual([{ status: 'replayed/received', n: LETTERS }]);
    const audited = await t.db.pool.query(
      `SELECT count(*)::int AS n FROM audit_log WHERE action = 'deadletter.replayed' AND metadata->>'bulkReplayId' = $1`,
      [res.body.replayId],
    );
    expect(audited.rows[0].n).toBe(LETTERS);
  });
});
