import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { DataCipher, sealedIn } from '../../src/platform/crypto/data-cipher';
import { uuidv7 } from '../../src/platform/crypto/ids';
import { startTestApp, TestApp } from '../support/test-app';
import { waitFor } from '../support/wait';
import { ApiProcess, killAndWait, log, startApiProcess } from './support';

const OPS = 'sb_ops_reencrypt-restart-key-0123456789ab';
const VALUES = 50_000;

interface OperationView {
  status: string;
  total: number;
  done: number;
  failed: number;
}

describe('re-encryption survives the death of the process running it', () => {
  /** An API without workers, over the seeded database: where progress is read. Its key is the old one, k0. */
  let t: TestApp;
  /** API and workers with the ring `B,k0`: runs the re-encryption, is SIGKILLed mid-way, and started again. */
  let worker: ApiProcess | undefined;
  const keyB = randomBytes(32);

  beforeAll(async () => {
    t = await startTestApp({ env: { OPS_API_KEYS: OPS, WORKERS_ENABLED: 'false', LOG_LEVEL: 'warn' } });
  });
  afterAll(async () => {
    await killAndWait(worker, 'SIGKILL');
    await t?.close();
  });

  const rotated = () =>
    startApiProcess({
      OPS_API_KEYS: OPS,
      WORKERS_ENABLED: 'true',
      LOG_LEVEL: 'warn',
      DATA_ENCRYPTION_KEY: '',
      DATA_ENCRYPTION_KEYS: `B:${keyB.toString('base64')},k0:${t.config.keyring.keys[0].key.toString('base64')}`,
      DATA_FINGERPRINT_KEY: t.config.keyring.fingerprintKey.toString('base64'),
    });

  /** 50,000 processed events, each payload sealed under k0 for its row. */
  async function seed(): Promise<string[]> {
    const cipher = t.app.get(DataCipher);
    const ids = Array.from({ length: VALUES }, () => uuidv7());
    const payloads = ids.map((id, i) => cipher.encryptJson({ n: i }, sealedIn('inbound_events.payload', id)));
    await t.db.pool.query(
      `WITH receipt AS (
         INSERT INTO webhook_receipts (id, provider, correlation_id, body_bytes, event_count)
         VALUES (gen_random_uuid(), 'instagram', 'seed', 0, $1) RETURNING id
       )
       INSERT INTO inbound_events (id, receipt_id, provider, kind, channel, idempotency_key, payload, correlation_id,
                                   status, processed_at)
       SELECT ($2::uuid[])[g], receipt.id, 'instagram', 'reaction', 'messaging', 'reenc:' || g, ($3::bytea[])[g],
              'seed', 'processed', now()
         FROM receipt, generate_series(1, $1) g`,
      [VALUES, ids, payloads],
    );
    return ids;
  }

  it('finishes after a SIGKILL and a restart: every value re-sealed once under B, none lost', async () => {
    const ids = await seed();
    worker = await rotated();
    const started = await request(worker.url).post('/admin/encryption/reencrypt').set('authorization', `Bearer ${OPS}`);
    expect(started.status).toBe(202);
    const id = started.body.operationId as string;
    expect(started.body.total).toBe(VALUES);

    const seen: number[] = [];
    const read = async () => {
      const view = (await request(t.url).get(`/admin/operations/${id}`).set('authorization', `Bearer ${OPS}`))
        .body as OperationView;
      seen.push(view.done);
      return view;
    };
    await waitFor(async () => (await read()).done >= VALUES / 5, {
      timeoutMs: 30_000,
      intervalMs: 10,
      message: 'a fifth done',
    });
    await killAndWait(worker, 'SIGKILL');
    const atKill = await read();
    log(`killed with the re-encryption at ${atKill.done} of ${atKill.total}`);
    expect(atKill.status).toBe('running');
    expect(atKill.done).toBeLessThan(VALUES);

    worker = await rotated();
    const done = await waitFor(
      async () => {
        const view = await read();
        return view.status === 'completed' ? view : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250, message: 'the re-encryption to complete on the restarted instance' },
    );
    log(`completed: ${JSON.stringify(done)}`);
    expect(done.failed).toBe(0);
    // A batch that committed just before the kill, its progress unrecorded, is not counted again (its rows
    // are under B already): done is at most one batch short of the total, never over it.
    expect(done.done).toBeLessThanOrEqual(VALUES);
    expect(done.done).toBeGreaterThan(VALUES - 1000);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));

    // Every value is there, under B, and opens as itself with B alone: not lost, not sealed twice.
    const onlyB = new DataCipher({ keys: [{ id: 'B', key: keyB }], fingerprintKey: t.config.keyring.fingerprintKey });
    const { rows } = await t.db.pool.query<{ id: string; payload: Buffer }>(
      `SELECT id, payload FROM inbound_events WHERE idempotency_key LIKE 'reenc:%'`,
    );
    expect(rows).toHaveLength(VALUES);
    const index = new Map(ids.map((value, i) => [value, i]));
    for (const row of rows) {
      expect(DataCipher.keyIdOf(row.payload)).toBe('B');
      expect(onlyB.decryptJson(row.payload, sealedIn('inbound_events.payload', row.id))).toEqual({
        n: index.get(row.id),
      });
    }
    const report = await request(t.url).get('/admin/encryption').set('authorization', `Bearer ${OPS}`);
    expect(report.body.keys.find((key: { id: string }) => key.id === 'k0')?.values).toBe(0);
  });
});
