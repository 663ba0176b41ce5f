import { Queue } from 'bullmq';
import request from 'supertest';
import { RETENTION_SCHEDULER_ID } from '../src/ops/maintenance/maintenance.scheduler';
import { RetentionService } from '../src/ops/maintenance/retention.service';
import { JobName, QueueName } from '../src/platform/queue/queue-names';
import { instagramEnvelope, messagingItem } from './support/meta-payloads';
import { openQueue, postWebhook, startTestApp, TestApp } from './support/test-app';
import { waitFor } from './support/wait';

const OPS_KEY = 'ops-key-retention-test-0123456789abcdef';
const STAFF_KEY = 'staff-key-retention-test-0123456789abcdef';

describe('retention (real Postgres and Redis)', () => {
  let t: TestApp;
  let maintenance: Queue;

  beforeAll(async () => {
    t = await startTestApp({ env: { OPS_API_KEYS: OPS_KEY, STAFF_API_KEYS: STAFF_KEY } });
    // The outbound relay's first pass (which re-queues pending deliveries when Redis has no marker yet)
    // is over before rows are seeded: the seeded delivery stays pending, as retention must find it.
    await waitFor(() => t.redis.get(`${t.prefix}:outbound:epoch`), { message: 'first outbound relay pass' });
    maintenance = openQueue(t, QueueName.Maintenance);
  });
  afterAll(async () => {
    await maintenance?.close();
    await t?.close();
  });

  const sql = async <T = Record<string, unknown>>(text: string, params: unknown[] = []) =>
    (await t.db.pool.query(text, params)).rows as T[];
  const count = async (text: string, params: unknown[] = []) =>
    (await sql<{ n: number }>(`SELECT count(*)::int AS n FROM ${text}`, params))[0].n;

  /** One receipt + event + conversation + message, `ageDays` old, tagged so the test can find its rows. */
  async function seedMessage(
    tag: string,
    ageDays: number,
    status: 'processed' | 'failed' | 'received' = 'processed',
    payloadInReceipt = false,
  ) {
    const at = `now() - interval '${ageDays} days'`;
    const [receipt] = await sql<{ id: string }>(
      `INSERT INTO webhook_receipts (id, provider, received_at, correlation_id, body_bytes, event_count, body)
       VALUES (gen_random_uuid(), 'instagram', ${at}, $1, 3, 1, '\\x01'::bytea) RETURNING id`,
      [tag],
    );
    const [event] = await sql<{ id: string }>(
      `INSERT INTO inbound_events (id, receipt_id, provider, kind, channel, idempotency_key, payload, correlation_id,
                                   status, received_at, processed_at, payload_in_receipt)
       VALUES (gen_random_uuid(), $1, 'instagram', 'message', 'messaging', $2,
               CASE WHEN $4 THEN NULL ELSE '\\x02'::bytea END, $2, $3, ${at},
               CASE WHEN $3 = 'received' THEN NULL ELSE ${at} END, $4) RETURNING id`,
      [receipt.id, tag, status, payloadInReceipt],
    );
    const [conversation] = await sql<{ id: string }>(
      `INSERT INTO conversations (id, provider, account_id, participant_id, first_message_at, last_message_at)
       VALUES (gen_random_uuid(), 'instagram', 'acct', $1, ${at}, ${at}) RETURNING id`,
      [tag],
    );
    await sql(
      `INSERT INTO messages (id, conversation_id, event_id, provider, meta_message_id, direction, content, sent_at,
                             created_at)
       VALUES (gen_random_uuid(), $1, $2, 'instagram', $3, 'inbound', '\\x03'::bytea, ${at}, ${at})`,
      [conversation.id, event.id, tag],
    );
    return event.id;
  }
  const seedDeadLetter = (tag: string, ageDays: number, eventId: string | null = null, status = 'resolved') =>
    sql(
      `INSERT INTO dead_letters (id, event_id, correlation_id, category, error, status, created_at)
       VALUES (gen_random_uuid(), $1, $2, 'server_error', 'http 500', $3, now() - make_interval(days => $4))`,
      [eventId, tag, status, ageDays],
    );
  const seedAudit = (tag: string, ageDays: number) =>
    sql(
      `INSERT INTO audit_log (occurred_at, action, outcome, correlation_id)
       VALUES (now() - make_interval(days => $2), 'test.seeded', 'info', $1)`,
      [tag, ageDays],
    );
  /** An outbound event with one delivery (in `status`) and two attempts, `ageDays` old. */
  const seedOutbound = async (tag: string, ageDays: number, status: 'succeeded' | 'pending') => {
    const [{ id }] = await sql<{ id: string }>(
      `INSERT INTO outbound_events (id, event_type, priority, data_sealed, publisher, correlation_id, created_at,
                                    dispatched_at)
       VALUES (gen_random_uuid(), 'test.event', 5, '\\x00', 'test', $1, now() - make_interval(days => $2),
               now() - make_interval(days => $2)) RETURNING id`,
      [tag, ageDays],
    );
    const [{ delivery }] = await sql<{ delivery: string }>(
      `INSERT INTO outbound_deliveries (event_id, endpoint_id, status, created_at)
       VALUES ($1, gen_random_uuid(), $2, now() - make_interval(days => $3)) RETURNING id AS delivery`,
      [id, status, ageDays],
    );
    for (const attempt of [1, 2])
      await sql(
        `INSERT INTO outbound_attempts (delivery_id, endpoint_id, event_id, attempt, status, duration_ms, created_at)
         VALUES ($1, gen_random_uuid(), $2, $3, 'failure', 5, now() - make_interval(days => $4))`,
        [delivery, id, attempt, ageDays],
      );
    return id;
  };
  const row = async (tag: string) =>
    (
      await sql<{ body: Buffer | null; payload: Buffer | null; content: Buffer | null }>(
        `SELECT r.body, e.payload, m.content FROM inbound_events e
           JOIN webhook_receipts r ON r.id = e.receipt_id JOIN messages m ON m.event_id = e.id
          WHERE e.idempotency_key = $1`,
        [tag],
      )
    )[0];

  it('registers the daily job scheduler on the maintenance queue', async () => {
    const scheduler = await waitFor(() => maintenance.getJobScheduler(RETENTION_SCHEDULER_ID), {
      message: 'the retention scheduler',
    });
    expect(scheduler).toMatchObject({ name: JobName.RunRetention, pattern: '15 3 * * *', tz: 'UTC' });
  });

  it('needs an ops key', async () => {
    expect((await request(t.url).post('/admin/maintenance/retention')).status).toBe(401);
    const staff = await request(t.url).post('/admin/maintenance/retention').set('authorization', `Bearer ${STAFF_KEY}`);
    expect(staff.status).toBe(403);
  });

  it('clears old data in batches, keeps fresh data, and audits the run with its counts', async () => {
    // Old enough for every period (raw 7, messages 90), a middle-aged one (raw only), and a fresh one.
    for (let i = 0; i < 3; i++) await seedMessage(`ret-old-${i}`, 100);
    await seedMessage('ret-mid', 10);
    await seedMessage('ret-fresh', 1);
    await seedMessage('ret-unfinished', 10, 'received');
    const failedPending = await seedMessage('ret-failed-pending', 40, 'failed');
    await seedDeadLetter('ret-dl-pending', 40, failedPending, 'pending');
    const failedResolved = await seedMessage('ret-failed-resolved', 40, 'failed');
    await seedDeadLetter('ret-dl-resolved', 40, failedResolved);
    await seedDeadLetter('ret-dl-old', 31);
    await seedDeadLetter('ret-dl-fresh', 29);
    for (let i = 0; i < 3; i++) await seedAudit(`ret-audit-old-${i}`, 366);
    await seedAudit('ret-audit-fresh', 364);
    const outboundOld = await seedOutbound('ret-out-old', 40, 'succeeded');
    const outboundPending = await seedOutbound('ret-out-pending', 40, 'pending');
    const outboundFresh = await seedOutbound('ret-out-fresh', 5, 'succeeded');

    // Small batches, so every step loops over several short transactions.
    t.app.get(RetentionService, { strict: false }).batchSize = 2;
    const res = await request(t.url).post('/admin/maintenance/retention').set('authorization', `Bearer ${OPS_KEY}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      trigger: 'on_demand',
      interrupted: false,
      days: { raw: 7, messages: 90, deadLetters: 30, audit: 365, outbound: 30 },
      // bodies: 3 old + mid + unfinished + 2 failed; payloads: 3 old + mid (processed), failed-resolved only
      // outbound: the old event's 2 attempts, its finished delivery and then the event; the pending
      // delivery's 2 attempts (the delivery and its event stay: it is still owed)
      counts: {
        receiptBodies: 7,
        eventPayloads: 5,
        messageContent: 3,
        deadLetters: 3,
        auditEntries: 3,
        outboundRows: 6,
      },
    });

    for (let i = 0; i < 3; i++) expect(await row(`ret-old-${i}`)).toEqual({ body: null, payload: null, content: null });
    expect(await row('ret-mid')).toEqual({ body: null, payload: null, content: expect.any(Buffer) });
    expect(await row('ret-fresh')).toEqual({
      body: expect.any(Buffer),
      payload: expect.any(Buffer),
      content: expect.any(Buffer),
    });
    // Not processed yet: the worker still needs its payload.
    expect((await row('ret-unfinished')).payload).toEqual(expect.any(Buffer));
    // A pending dead letter can still be replayed: its event keeps its payload.
    expect((await row('ret-failed-pending')).payload).toEqual(expect.any(Buffer));
    expect((await row('ret-failed-resolved')).payload).toBeNull();
    expect(await count(`dead_letters WHERE correlation_id LIKE 'ret-dl-%'`)).toBe(1);
    expect(await count(`dead_letters WHERE correlation_id = 'ret-dl-fresh'`)).toBe(1);
    expect(await count(`audit_log WHERE correlation_id LIKE 'ret-audit-old-%'`)).toBe(0);
    expect(await count(`audit_log WHERE correlation_id = 'ret-audit-fresh'`)).toBe(1);
    expect(await count(`outbound_events WHERE id = '${outboundOld}'`)).toBe(0);
    expect(await count(`outbound_deliveries WHERE event_id = '${outboundOld}'`)).toBe(0);
    expect(await count(`outbound_deliveries WHERE event_id = '${outboundPending}'`)).toBe(1);
    expect(await count(`outbound_events WHERE id = '${outboundPending}'`)).toBe(1);
    expect(await count(`outbound_attempts WHERE event_id = '${outboundFresh}'`)).toBe(2);
    expect(await count(`outbound_events WHERE id = '${outboundFresh}'`)).toBe(1);

    const [entry] = await waitFor(() =>
      sql<{ actor: string; outcome: string; metadata: Record<string, unknown> }>(
        `SELECT actor, outcome, metadata FROM audit_log WHERE action = 'maintenance.retention'`,
      ).then((rows) => (rows.length > 0 ? rows : null)),
    );
    expect(entry).toMatchObject({
      actor: 'env:ops:1',
      outcome: 'success',
      metadata: { trigger: 'on_demand', counts: res.body.counts },
    });
  });

  it('still refuses a plain DELETE or UPDATE on the audit log (only a declared retention transaction may delete)', async () => {
    await expect(sql(`DELETE FROM audit_log WHERE correlation_id = 'ret-audit-fresh'`)).rejects.toThrow(/append-only/);
    // The flag retention used to set is no longer a way in, and the function keeps a day's entries whatever it is asked.
    await expect(
      sql(
        `DO $$ BEGIN SET LOCAL switchboard.audit_retention = 'on'; DELETE FROM audit_log WHERE correlation_id = 'ret-audit-fresh'; END $$`,
      ),
    ).rejects.toThrow(/append-only/);
    await expect(sql(`SELECT audit_log_expire(now(), 10)`)).rejects.toThrow(/at least a day/);
    await expect(sql(`UPDATE audit_log SET actor = 'x' WHERE correlation_id = 'ret-audit-fresh'`)).rejects.toThrow(
      /append-only/,
    );
    expect(await count(`audit_log WHERE correlation_id = 'ret-audit-fresh'`)).toBe(1);
  });

  it('runs as a job on the maintenance queue (what the daily scheduler produces)', async () => {
    await seedMessage('ret-job-old', 100);
    await maintenance.add(JobName.RunRetention, {});
    await waitFor(
      async () =>
        (await count(`audit_log WHERE action = 'maintenance.retention' AND metadata->>'trigger' = 'schedule'`)) === 1,
      { message: 'the scheduled run to be audited' },
    );
    expect(await row('ret-job-old')).toEqual({ body: null, payload: null, content: null });
    const [entry] = await sql<{ actor: string; metadata: { counts: Record<string, number> } }>(
      `SELECT actor, metadata FROM audit_log WHERE action = 'maintenance.retention' AND metadata->>'trigger' = 'schedule'`,
    );
    expect(entry.actor).toBe('system');
    // eventPayloads: this event, and the failed one whose pending dead letter the first run purged.
    expect(entry.metadata.counts).toMatchObject({ receiptBodies: 1, eventPayloads: 2, messageContent: 1 });
  });

  it("retains and orders by the receive time: Meta's clock (2001, 33658) is kept as data only", async () => {
    // Seconds for 2001 (Meta sends both; a figure under 10^12 is read as seconds), milliseconds for 33658.
    const dated = { 'ret-clock-2001': Date.UTC(2001, 0, 1) / 1000, 'ret-clock-33658': 1e15 };
    for (const [sender, timestamp] of Object.entries(dated)) {
      const body = instagramEnvelope([messagingItem({ mid: `m_${sender}`, sender, text: 'hello', timestamp })]);
      expect((await postWebhook(t, body)).status).toBe(200);
    }
    await waitFor(() => Object.keys(dated).every((sender) => t.graph.repliesTo(sender).length === 1), {
      message: 'both messages processed and answered',
    });
    const run = () => request(t.url).post('/admin/maintenance/retention').set('authorization', `Bearer ${OPS_KEY}`);
    expect((await run()).status).toBe(200);

    const rows = await sql<{
      participant_id: string;
      content: Buffer | null;
      sent_at: Date;
      last_message_at: Date;
      occurred_at: Date;
    }>(
      `SELECT c.participant_id, m.content, m.sent_at, c.last_message_at, e.occurred_at
         FROM conversations c JOIN messages m ON m.conversation_id = c.id JOIN inbound_events e ON e.id = m.event_id
        WHERE c.participant_id = ANY($1) ORDER BY c.participant_id`,
      [Object.keys(dated)],
    );
    expect(rows.map((r) => r.participant_id)).toEqual(['ret-clock-2001', 'ret-clock-33658']);
    const near = (date: Date) => Math.abs(date.getTime() - Date.now()) < 5 * 60_000;
    for (const r of rows) {
      // Kept: received a moment ago, whatever the message says of itself.
      expect(r.content).toEqual(expect.any(Buffer));
      expect(near(r.last_message_at)).toBe(true);
      const stated = dated[r.participant_id as keyof typeof dated];
      expect(r.occurred_at.getTime()).toBe(stated < 1e12 ? stated * 1000 : stated);
    }
    // Where Meta's time orders messages, it is clamped to a window around the receive time.
    expect(rows[1].sent_at.getTime()).toBeLessThanOrEqual(Date.now() + 5 * 60_000);
    expect(rows[0].sent_at.getTime()).toBeGreaterThan(Date.now() - 8 * 24 * 3600_000);

    // Stored past the message period: cleared, although it claims to come from the year 33658.
    await sql(
      `UPDATE messages m SET created_at = now() - interval '100 days' FROM conversations c
        WHERE c.id = m.conversation_id AND c.participant_id = 'ret-clock-33658'`,
    );
    expect((await run()).body.counts.messageContent).toBe(1);
    const [far] = await sql<{ content: Buffer | null }>(
      `SELECT m.content FROM messages m JOIN conversations c ON c.id = m.conversation_id
        WHERE c.participant_id = 'ret-clock-33658'`,
    );
    expect(far.content).toBeNull();
  });

  it('deletes operations that ended before OPERATION_RETENTION_DAYS, never a running one', async () => {
    const seed = (tag: string, status: string, endedDaysAgo: number | null, ageDays: number) =>
      sql<{ id: string }>(
        `INSERT INTO operations (id, kind, filter, status, total, actor, created_at, finished_at)
         VALUES (gen_random_uuid(), 'dead_letter_replay', $1, $2, 0, 'test', now() - make_interval(days => $3),
                 CASE WHEN $4::int IS NULL THEN NULL ELSE now() - make_interval(days => $4::int) END)
         RETURNING id`,
        [JSON.stringify({ tag }), status, ageDays, endedDaysAgo],
      ).then((rows) => rows[0].id);
    const ended = await seed('op-old', 'completed', 31, 32);
    const cancelled = await seed('op-old-cancelled', 'cancelled', 40, 40);
    const recent = await seed('op-recent', 'failed', 29, 60);
    const running = await seed('op-running', 'running', null, 90);

    const res = await request(t.url).post('/admin/maintenance/retention').set('authorization', `Bearer ${OPS_KEY}`);
    expect(res.status).toBe(200);
    expect(res.body.days.operations).toBe(30);
    expect(res.body.counts.operations).toBe(2);
    const left = await sql<{ id: string }>(`SELECT id FROM operations WHERE id = ANY($1::uuid[])`, [
      [ended, cancelled, recent, running],
    ]);
    expect(left.map((row) => row.id).sort()).toEqual([recent, running].sort());
  });

  it("keeps a receipt's body while it is also its event's payload, as long as that payload would be kept", async () => {
    await seedMessage('ret-in-processed', 10, 'processed', true);
    await seedMessage('ret-in-unfinished', 10, 'received', true);
    await seedMessage('ret-in-failed-recent', 10, 'failed', true);
    const pending = await seedMessage('ret-in-failed-pending', 40, 'failed', true);
    await seedDeadLetter('ret-in-dl-pending', 40, pending, 'pending');
    const resolved = await seedMessage('ret-in-failed-resolved', 40, 'failed', true);
    await seedDeadLetter('ret-in-dl-resolved', 40, resolved);

    const res = await request(t.url).post('/admin/maintenance/retention').set('authorization', `Bearer ${OPS_KEY}`);
    expect(res.status).toBe(200);
    expect(res.body.counts.receiptBodies).toBe(2);
    const body = async (tag: string) => (await row(tag)).body;
    expect(await body('ret-in-processed')).toBeNull();
    expect(await body('ret-in-failed-resolved')).toBeNull();
    // The worker still needs it; a dead letter within its period, or still pending, can be looked at and replayed.
    expect(await body('ret-in-unfinished')).toEqual(expect.any(Buffer));
    expect(await body('ret-in-failed-recent')).toEqual(expect.any(Buffer));
    expect(await body('ret-in-failed-pending')).toEqual(expect.any(Buffer));
  });
});
