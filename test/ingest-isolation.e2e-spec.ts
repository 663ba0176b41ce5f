import { Pool } from 'undici';
import { AuditService } from '../src/audit/audit.service';
import { WebhookIngestService } from '../src/inbound/ingest/webhook-ingest.service';
import { instagramEnvelope, messagingItem, sign } from './support/meta-payloads';
import { startTestApp, TEST_APP_SECRET, TestApp } from './support/test-app';
import { waitFor } from './support/wait';

/**
 * One receipt never fails another: a receipt the database refuses (here a check constraint this test adds,
 * standing in for any data error) shares its statement with valid ones, and only it is affected.
 */
describe('group commit isolates a data error to the item that caused it', () => {
  let t: TestApp;
  let http: Pool;

  beforeAll(async () => {
    t = await startTestApp();
    await t.db.pool.query(
      `ALTER TABLE inbound_events ADD CONSTRAINT refuses_poison CHECK (meta_message_id NOT LIKE 'poison%')`,
    );
    http = new Pool(t.url, { connections: 200 });
  });
  afterAll(async () => {
    await http?.close();
    await t?.close();
  });

  const post = async (mid: string): Promise<number> => {
    const body = instagramEnvelope([messagingItem({ mid, sender: `u-${mid}`, text: 'isolation' })]);
    const response = await http.request({
      method: 'POST',
      path: '/webhooks/instagram',
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': sign(body, TEST_APP_SECRET) },
      body,
    });
    await response.body.dump();
    return response.statusCode;
  };

  it('alone, the refused receipt is answered 503', async () => {
    expect(await post('poison_alone')).toBe(503);
  });

  it('190 valid webhooks sharing statements with it all get 200 and their reply; it gets what it gets alone', async () => {
    const valid = Array.from({ length: 190 }, (_, i) => `iso_${i}`);
    const all = [...valid.slice(0, 95), 'poison_shared', ...valid.slice(95)];
    // Hold the receipts table so every request is waiting when the statements run: they share them.
    const holder = await t.db.pool.connect();
    await holder.query(`BEGIN; LOCK TABLE webhook_receipts IN SHARE ROW EXCLUSIVE MODE`);
    const answers = Promise.all(all.map(async (mid) => [mid, await post(mid)] as const));
    const store = (t.app.get(WebhookIngestService) as unknown as { store: { pending: number } }).store;
    await waitFor(() => store.pending >= all.length, { message: 'every request waiting to be stored' });
    await holder.query('COMMIT');
    holder.release();
    const statuses = new Map(await answers);

    expect(statuses.get('poison_shared')).toBe(503);
    expect(valid.filter((mid) => statuses.get(mid) !== 200)).toEqual([]);
    await waitFor(() => valid.every((mid) => t.graph.repliesTo(`u-${mid}`).length === 1), {
      timeoutMs: 30_000,
      message: 'one reply per valid webhook',
    });

    // The log names the batcher and the SQLSTATE, never the value or the driver's message.
    const lines = t
      .logs()
      .split('\n')
      .filter((line) => line.includes('23514'));
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.some((line) => line.includes('"batcher":"ingest"'))).toBe(true);
    expect(t.logs()).not.toContain('poison');
    expect(t.logs()).not.toContain('refuses_poison');
  });

  it('applies to every batcher: one audit entry the database refuses does not lose the others', async () => {
    const audit = t.app.get(AuditService);
    const entries = Array.from({ length: 60 }, (_, i) => ({
      action: 'test.isolation',
      outcome: 'info' as const,
      correlationId: `iso-audit-${i}`,
      // A NUL cannot be stored in jsonb (22P05): a data error, like any other value Postgres refuses.
      metadata: i === 30 ? { note: 'bad\u0000value' } : { n: i },
    }));
    const results = await Promise.allSettled(entries.map((entry) => audit.record(entry)));
    expect(results.filter((result) => result.status === 'rejected')).toHaveLength(1);
    expect(results[30].status).toBe('rejected');
    const { rows } = await t.db.pool.query(`SELECT count(*)::int AS n FROM audit_log WHERE action = 'test.isolation'`);
    expect(rows[0].n).toBe(59);
  });
});
