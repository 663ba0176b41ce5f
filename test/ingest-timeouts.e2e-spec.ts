import { instagramEnvelope, messagingItem } from './support/meta-payloads';
import { postWebhook, startTestApp, TestApp } from './support/test-app';
import { waitFor } from './support/wait';

describe('ingest statements are bounded in time, in proportion to what they store', () => {
  const STATEMENT_TIMEOUT_MS = 100;
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({
      env: { DATABASE_STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS), WORKERS_ENABLED: 'false' },
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('answers 503 within the statement timeout when the statement cannot proceed, and says why', async () => {
    const holder = await t.db.pool.connect();
    try {
      await holder.query(`BEGIN; LOCK TABLE webhook_receipts IN SHARE ROW EXCLUSIVE MODE`);
      const startedAt = Date.now();
      const res = await postWebhook(t, instagramEnvelope([messagingItem({ mid: 'm_locked', sender: 'locked' })]));
      expect(res.status).toBe(503);
      expect(Date.now() - startedAt).toBeLessThan(STATEMENT_TIMEOUT_MS + 1500);
    } finally {
      await holder.query('ROLLBACK');
      holder.release();
    }
    await waitFor(() => /could not store webhook; answering 503.*"(sqlState":"57014|cause":"timeout)"/.test(t.logs()));
  });

  it('gives a receipt with many more events than a batch the time it needs', async () => {
    const items = Array.from({ length: 9000 }, (_, i) =>
      messagingItem({ mid: `m_many_${i}`, sender: `many-${i % 50}`, text: 'x' }),
    );
    const startedAt = Date.now();
    const res = await postWebhook(t, instagramEnvelope(items));
    expect(res.status).toBe(200);
    const { rows } = await t.db.pool.query(
      `SELECT count(*)::int AS n FROM inbound_events WHERE meta_message_id LIKE 'm\\_many\\_%'`,
    );
    expect(rows[0].n).toBe(9000);
    // Longer than one statement timeout: without the allowance for its size it would have been refused.
    expect(Date.now() - startedAt).toBeGreaterThan(STATEMENT_TIMEOUT_MS);
  });
});
