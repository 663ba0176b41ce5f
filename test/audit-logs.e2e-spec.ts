import { get } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import request from 'supertest';
import { startTestApp, TestApp } from './support/test-app';

const OPS = 'ops-test-key-0123456789abcdefxxx';
const STAFF = 'staff-test-key-0123456789abcdefx';
const PUBLISHER = 'pub-test-key-0123456789abcdefxxx';
const EVENT_ID = '00000000-0000-7000-8000-00000000e001';

describe('GET /audit-logs (real Postgres)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({
      env: { OPS_API_KEYS: OPS, STAFF_API_KEYS: STAFF, PUBLISHER_API_KEYS: PUBLISHER, WORKERS_ENABLED: 'false' },
    });
    await t.db.pool.query(
      `INSERT INTO audit_log (action, outcome, provider, event_id, correlation_id, actor, metadata, occurred_at) VALUES
         ('reply.sent', 'success', 'instagram', $1, 'corr-a', 'system', '{"httpStatus":200}', '2026-01-01T10:00:00Z'),
         ('reply.failed', 'failure', 'instagram', $1, 'corr-a', 'system', '{"category":"policy"}', '2026-01-01T11:00:00Z'),
         ('deadletter.replayed', 'success', 'instagram', $1, 'corr-a', 'alice', '{"note":"=cmd, \\"quoted\\""}', '2026-01-02T10:00:00Z'),
         ('webhook.rejected', 'rejected', 'facebook', NULL, 'corr-b', 'system', '{}', '2026-01-03T10:00:00Z')`,
      [EVENT_ID],
    );
  });
  afterAll(async () => {
    await t?.close();
  });

  const as = (key: string | null, query: Record<string, string> = {}) => {
    const req = request(t.url).get('/audit-logs').query(query);
    return key ? req.set('authorization', `Bearer ${key}`) : req;
  };
  const actions = (res: request.Response) => res.body.items.map((i: { action: string }) => i.action);

  it('is for staff and ops: 401 without a valid key, 403 for a publisher key', async () => {
    expect((await as(null)).status).toBe(401);
    expect((await as('wrong')).status).toBe(401);
    expect((await as(PUBLISHER)).status).toBe(403);
    expect((await as(STAFF)).status).toBe(200);
    expect((await as(OPS)).status).toBe(200);
  });

  it('filters by action (exact or prefix.*), outcome, provider, event id, correlation id, actor and time range', async () => {
    const q = (query: Record<string, string>) => as(STAFF, { to: '2026-02-01T00:00:00Z', ...query });
    expect(actions(await q({ action: 'reply.sent' }))).toEqual(['reply.sent']);
    expect(actions(await q({ action: 'reply.*' }))).toEqual(['reply.failed', 'reply.sent']);
    expect(actions(await q({ outcome: 'failure' }))).toEqual(['reply.failed']);
    expect(actions(await q({ provider: 'facebook' }))).toEqual(['webhook.rejected']);
    expect(actions(await q({ eventId: EVENT_ID }))).toEqual(['deadletter.replayed', 'reply.failed', 'reply.sent']);
    expect(actions(await q({ correlationId: 'corr-b' }))).toEqual(['webhook.rejected']);
    expect(actions(await q({ actor: 'alice' }))).toEqual(['deadletter.replayed']);
    expect(actions(await q({ from: '2026-01-01T10:30:00Z', to: '2026-01-02T12:00:00Z' }))).toEqual([
      'deadletter.replayed',
      'reply.failed',
    ]);
    const [entry] = (await q({ action: 'reply.sent' })).body.items;
    expect(entry).toMatchObject({
      action: 'reply.sent',
      outcome: 'success',
      provider: 'instagram',
      eventId: EVENT_ID,
      correlationId: 'corr-a',
      actor: 'system',
      metadata: { httpStatus: 200 },
      occurredAt: '2026-01-01T10:00:00.000Z',
    });
    expect(entry.id).toMatch(/^\d+$/);
  });

  it('pages newest first with an opaque cursor', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: request.Response = await as(OPS, {
        to: '2026-02-01T00:00:00Z',
        limit: '3',
        ...(cursor ? { cursor } : {}),
      });
      seen.push(...actions(res));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(['webhook.rejected', 'deadletter.replayed', 'reply.failed', 'reply.sent']);
  });

  it('lists a folded "processed" step as an entry of its own, right after the entry whose row holds it', async () => {
    const FOLDED = '00000000-0000-7000-8000-00000000e002';
    await t.db.pool.query(
      `INSERT INTO audit_log (action, outcome, provider, event_id, correlation_id, metadata, occurred_at) VALUES
         ('event.received', 'success', 'instagram', $1, 'corr-f', '{"kind":"message"}', '2026-03-01T10:00:00Z'),
         ('reply.sent', 'success', 'instagram', $1, 'corr-f', '{"httpStatus":200,"_processed":"message"}',
          '2026-03-01T10:00:01Z')`,
      [FOLDED],
    );
    const stored = await t.db.pool.query(`SELECT count(*)::int AS n FROM audit_log WHERE event_id = $1`, [FOLDED]);
    expect(stored.rows[0].n).toBe(2);
    const page = await as(STAFF, { eventId: FOLDED });
    expect(page.body.items.map((i: { action: string; metadata: unknown }) => [i.action, i.metadata])).toEqual([
      ['event.processed', { kind: 'message' }],
      ['reply.sent', { httpStatus: 200 }],
      ['event.received', { kind: 'message' }],
    ]);
    const [processed, sent] = page.body.items as { id: string; occurredAt: string; correlationId: string }[];
    expect(BigInt(processed.id)).toBe(BigInt(sent.id) + 1n);
    expect(processed).toMatchObject({ occurredAt: sent.occurredAt, correlationId: 'corr-f', outcome: 'success' });
    expect(actions(await as(STAFF, { eventId: FOLDED, action: 'event.processed' }))).toEqual(['event.processed']);
    expect(actions(await as(STAFF, { eventId: FOLDED, action: 'event.*' }))).toEqual([
      'event.processed',
      'event.received',
    ]);
    // Paged one by one, each step once.
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: request.Response = await as(STAFF, { eventId: FOLDED, limit: '1', ...(cursor ? { cursor } : {}) });
      seen.push(...actions(res));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(['event.processed', 'reply.sent', 'event.received']);
    const csv = await as(STAFF, { eventId: FOLDED, format: 'csv' });
    expect(
      csv.text
        .split('\r\n')
        .filter((line) => line.includes('corr-f'))
        .map((line) => line.split(',')[2]),
    ).toEqual(['event.processed', 'reply.sent', 'event.received']);
    expect(csv.text).not.toContain('_processed');
  });

  it('answers 400 in the shared error shape for invalid or unknown parameters', async () => {
    for (const query of <Array<Record<string, string>>>[
      { limit: '501' },
      { eventId: 'nope' },
      { from: 'yesterday' },
      { format: 'xml' },
      { outcome: 'maybe' },
      { cursor: 'bm9wZQ' },
      { unknown: '1' },
    ]) {
      const res = await as(STAFF, query);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ statusCode: 400, error: 'Bad Request', correlationId: expect.any(String) });
    }
  });

  it('streams a CSV export of 10,000 rows in chunks, with memory well below the size of the export', async () => {
    await t.db.pool.query(
      `INSERT INTO audit_log (action, outcome, provider, correlation_id, metadata, occurred_at)
       SELECT 'bulk.export', 'info', 'instagram', 'corr-' || g, jsonb_build_object('n', g, 'pad', repeat('x', 1500)),
              '2026-03-01T00:00:00Z'::timestamptz + g * interval '1 second'
         FROM generate_series(1, 10000) g`,
    );
    // Live heap (after a full GC), so uncollected garbage does not count: what the export holds at once.
    setFlagsFromString('--expose_gc');
    const gc = runInNewContext('gc') as () => void;
    gc();
    const baseline = process.memoryUsage().heapUsed;
    let peak = baseline;
    const result = await new Promise<{
      headers: Record<string, unknown>;
      chunks: number;
      bytes: number;
      lines: number;
      first: string;
      last: string;
    }>((resolve, reject) => {
      get(
        `${t.url}/audit-logs?format=csv&action=bulk.export`,
        { headers: { authorization: `Bearer ${STAFF}` } },
        (res) => {
          let chunks = 0;
          let bytes = 0;
          let lines = 0;
          let first = '';
          let tail = '';
          res.on('data', (chunk: Buffer) => {
            chunks++;
            bytes += chunk.length;
            const text = chunk.toString('utf8');
            if (first.length < 4000) first += text.slice(0, 4000 - first.length);
            for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lines++;
            tail = (tail + text).slice(-4000);
            if (chunks % 10 === 0) {
              gc();
              peak = Math.max(peak, process.memoryUsage().heapUsed);
            }
          });
          res.on('end', () => resolve({ headers: res.headers, chunks, bytes, lines, first, last: tail }));
          res.on('error', reject);
        },
      ).on('error', reject);
    });
    expect(result.headers['content-type']).toMatch(/^text\/csv/);
    expect(result.headers['content-disposition']).toMatch(/^attachment; filename="audit-log-.*\.csv"$/);
    expect(result.headers['transfer-encoding']).toBe('chunked');
    expect(result.headers['content-length']).toBeUndefined();
    expect(result.lines).toBe(10_001);
    expect(result.chunks).toBeGreaterThanOrEqual(10);
    expect(result.first.split('\r\n')[0]).toBe(
      'id,occurred_at,action,outcome,provider,event_id,correlation_id,actor,metadata',
    );
    expect(result.first.split('\r\n')[1]).toMatch(
      /^\d+,2026-03-01T02:46:40\.000Z,bulk\.export,info,instagram,,corr-10000,system,"\{""n"":10000,""pad"":""x/,
    );
    expect(result.last).toMatch(/corr-1,system,"\{""n"":1,""pad"":""x+""\}"\r\n$/);
    expect(result.bytes).toBeGreaterThan(15_000_000);
    // Streaming holds a page or two (about 4 MB here); buffering would hold every row and the text: over 16 MB.
    process.stdout.write(
      `csv export: ${result.bytes} bytes in ${result.chunks} chunks; live heap growth ${peak - baseline} bytes\n`,
    );
    expect(peak - baseline).toBeLessThan(result.bytes / 2);

    const [audit] = (
      await t.db.pool.query(
        `SELECT actor, metadata FROM audit_log WHERE action = 'auditlog.exported' ORDER BY id DESC LIMIT 1`,
      )
    ).rows;
    expect(audit).toMatchObject({ actor: 'env:staff:1', metadata: { filter: { action: 'bulk.export' } } });
  });

  it('quotes CSV cells (RFC 4180)', async () => {
    const res = await as(OPS, { format: 'csv', actor: 'alice' });
    expect(res.status).toBe(200);
    const [, row] = res.text.split('\r\n');
    expect(row).toContain(',alice,"{""note"":""=cmd, \\""quoted\\""""}"');
  });
});
