import { createCipheriv, randomBytes } from 'node:crypto';
import request from 'supertest';
import { SEALED_COLUMNS } from '../src/ops/keys/sealed-columns';
import { DataCipher, DecryptionError, fingerprintKeyOf } from '../src/platform/crypto/data-cipher';
import { FakeGraphApi } from './support/fake-graph-api';
import { ACCOUNT_ID, instagramEnvelope, messagingItem } from './support/meta-payloads';
import { openStored, storedValues } from './support/sealed';
import { deleteKeys, postWebhook, startTestApp, TestApp } from './support/test-app';
import { createTestDatabase, TestDatabase } from './support/test-database';
import { waitFor } from './support/wait';
import { verifyDelivery, WebhookReceiver } from './support/webhook-receiver';

const OPS = 'ops-key-for-the-keys-test-0123456789';
const ACCOUNT_TOKEN = 'account-token-0123456789';
const POLICY = { status: 400, body: { error: { message: 'outside the window', code: 10, error_subcode: 2018278 } } };

/**
 * Rotation as an operator runs it (docs/keys.md): key A alone, then `B,A`, re-encryption, then `B` alone;
 * everything stored under A keeps working. Then a value moved to another row, and reasons for every look.
 */
describe('keys: rotation, re-encryption, row binding, access report (real Postgres and Redis)', () => {
  const keyA = randomBytes(32);
  const keyB = randomBytes(32);
  const ringA = { DATA_ENCRYPTION_KEY: keyA.toString('base64') };
  const fingerprintKey = fingerprintKeyOf(keyA).toString('base64');
  const ringBA = {
    DATA_ENCRYPTION_KEY: '',
    DATA_ENCRYPTION_KEYS: `B:${keyB.toString('base64')},k0:${keyA.toString('base64')}`,
    DATA_FINGERPRINT_KEY: fingerprintKey,
  };
  const ringB = {
    DATA_ENCRYPTION_KEY: '',
    DATA_ENCRYPTION_KEYS: `B:${keyB.toString('base64')}`,
    DATA_FINGERPRINT_KEY: fingerprintKey,
  };

  let db: TestDatabase;
  let graph: FakeGraphApi;
  let graphUrl: string;
  let receiver: WebhookReceiver;
  let t: TestApp | undefined;
  const prefix = `sbtest-keys-${randomBytes(4).toString('hex')}`;
  let endpoint: { id: string; secret: string };
  let deadLetterId: string;
  const idless = instagramEnvelope([
    {
      sender: { id: 'patient-ref' },
      recipient: { id: ACCOUNT_ID },
      timestamp: 1732250000000,
      referral: { ref: 'spring', source: 'ADS' },
    },
  ]);

  const start = async (env: Record<string, string>) => {
    t = await startTestApp({
      db,
      graph,
      prefix,
      env: { ...env, OPS_API_KEYS: OPS, INSTAGRAM_GRAPH_URL: graphUrl, OUTBOUND_ALLOW_PRIVATE_NETWORKS: 'true' },
    });
    return t;
  };
  const stop = async () => {
    await t?.close();
    t = undefined;
  };
  const ops = () => ({ authorization: `Bearer ${OPS}` });
  const sql = async <T>(text: string, values: unknown[] = []) => (await db.pool.query(text, values)).rows as T[];
  const keyIds = async () => {
    const ids = new Map<string, number>();
    for (const stored of await storedValues(db.pool)) {
      const id = DataCipher.keyIdOf(stored.value) ?? '?';
      ids.set(id, (ids.get(id) ?? 0) + 1);
    }
    return ids;
  };
  const replied = (recipient: string) =>
    waitFor(() => graph.repliesTo(recipient).find((r) => r.authorization === `Bearer ${ACCOUNT_TOKEN}`), {
      message: `a reply to ${recipient} with the account's token`,
      timeoutMs: 20_000,
    });
  const delivered = async (marker: string) => {
    const res = await request(t!.url).post('/events/keys.test').set(ops()).send({ data: { marker } });
    expect(res.status).toBe(202);
    const received = await waitFor(() => receiver.received.find((r) => r.body.includes(marker)), {
      message: `the delivery of ${marker}`,
    });
    return verifyDelivery(endpoint.secret, received);
  };
  const payloadView = (reason?: string) =>
    request(t!.url)
      .get(`/admin/dead-letters/${deadLetterId}/payload`)
      .query(reason === undefined ? {} : { reason })
      .set(ops());

  beforeAll(async () => {
    db = await createTestDatabase();
    graph = new FakeGraphApi();
    graphUrl = await graph.start();
    receiver = new WebhookReceiver();
    await receiver.start();
    graph.defaultAnswer = (req) => (req.body.recipient?.id === 'patient-dl' ? POLICY : { status: 200 });
  });
  afterAll(async () => {
    await stop();
    await receiver?.stop();
    await graph?.stop();
    const { Redis } = await import('ioredis');
    const redis = new Redis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');
    await deleteKeys(redis, prefix);
    redis.disconnect();
    await db?.drop();
  });

  it('rotates A → B,A → re-encryption → B alone, and everything sealed under A still works', async () => {
    // Key A alone (DATA_ENCRYPTION_KEY, as every install before keyrings).
    await start(ringA);
    const account = await request(t!.url)
      .post('/admin/accounts')
      .set(ops())
      .send({ provider: 'instagram', accountId: ACCOUNT_ID, accessToken: ACCOUNT_TOKEN });
    expect(account.status).toBe(201);
    const created = await request(t!.url)
      .post('/endpoints')
      .set(ops())
      .send({ url: receiver.url('/keys'), events: ['keys.test'], headers: { 'x-clinic': 'north' } });
    expect(created.status).toBe(201);
    endpoint = created.body;
    expect((await delivered('sealed-first')).data).toEqual({ marker: 'sealed-first' });
    expect(
      (
        await postWebhook(
          t!,
          instagramEnvelope([messagingItem({ mid: 'm_a1', sender: 'patient-a', text: 'pain in my tooth' })]),
        )
      ).status,
    ).toBe(200);
    await replied('patient-a');
    expect(
      (
        await postWebhook(
          t!,
          instagramEnvelope([messagingItem({ mid: 'm_dl', sender: 'patient-dl', text: 'private words' })]),
        )
      ).status,
    ).toBe(200);
    const [letter] = await waitFor(
      () =>
        sql<{ id: string }>(
          `SELECT d.id FROM dead_letters d JOIN inbound_events e ON e.id = d.event_id WHERE e.meta_message_id = 'm_dl'`,
        ).then((r) => (r.length ? r : null)),
      { message: 'the dead letter of m_dl' },
    );
    deadLetterId = letter.id;
    expect((await postWebhook(t!, idless)).status).toBe(200);
    const [{ key }] = await sql<{ key: string }>(
      `SELECT idempotency_key AS key FROM inbound_events WHERE kind = 'referral'`,
    );
    expect(key).toMatch(/^instagram:referral:fp-/);
    // A value from before key ids (v1, unbound): opens, and re-encryption binds it.
    const iv = randomBytes(12);
    const legacy = createCipheriv('aes-256-gcm', keyA, iv);
    const body = Buffer.concat([legacy.update('{"legacy":true}'), legacy.final()]);
    await sql(
      `INSERT INTO webhook_receipts (id, provider, correlation_id, body_bytes, event_count, body) VALUES (gen_random_uuid(), 'instagram', 'v1', 15, 0, $1)`,
      [Buffer.concat([Buffer.of(1), iv, legacy.getAuthTag(), body])],
    );
    expect([...(await keyIds()).keys()].sort()).toEqual(['k0']);
    await stop();

    // B,A: everything opens, new values are sealed under B.
    await start(ringBA);
    expect((await payloadView('rotation check')).body.payload.message.text).toBe('private words');
    expect((await delivered('sealed-second')).data).toEqual({ marker: 'sealed-second' });
    expect(
      (
        await postWebhook(
          t!,
          instagramEnvelope([messagingItem({ mid: 'm_b1', sender: 'patient-b', text: 'new words' })]),
        )
      ).status,
    ).toBe(200);
    await replied('patient-b');
    const [fresh] = await sql<{ content: Buffer }>(`SELECT content FROM messages WHERE meta_message_id = 'm_b1'`);
    expect(DataCipher.keyIdOf(fresh.content)).toBe('B');
    const before = await request(t!.url).get('/admin/encryption').set(ops());
    expect(before.status).toBe(200);
    expect(before.body.primaryKeyId).toBe('B');
    expect(before.body.keys.find((k: { id: string }) => k.id === 'k0').values).toBeGreaterThan(5);

    const started = await request(t!.url).post('/admin/encryption/reencrypt').set(ops());
    expect(started.status).toBe(202);
    const { operationId } = started.body;
    const finished = await waitFor(
      async () => {
        const res = await request(t!.url).get(`/admin/operations/${operationId}`).set(ops());
        return res.body.status === 'completed' ? res.body : null;
      },
      { message: 're-encryption to complete', timeoutMs: 30_000 },
    );
    expect(finished).toMatchObject({ kind: 'encryption.reencrypt', failed: 0 });
    expect(finished.done).toBe(finished.total);
    const after = await request(t!.url).get('/admin/encryption').set(ops());
    expect(after.body.keys).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ id: 'k0', values: 0 }),
        expect.objectContaining({ id: 'B', values: expect.any(Number) }),
      ]),
    );
    expect([...(await keyIds()).keys()]).toEqual(['B']);
    await stop();

    // B alone: A has left the environment.
    await start(ringB);
    const cipher = new DataCipher(t!.config.keyring);
    for (const stored of await storedValues(db.pool)) {
      expect([stored.column.field, openStored(cipher, stored) instanceof Buffer]).toEqual([stored.column.field, true]);
    }
    const view = await payloadView('after rotation');
    expect(view.status).toBe(200);
    expect(view.body.payload.message.text).toBe('private words');
    const signed = await delivered('sealed-third');
    expect(signed.data).toEqual({ marker: 'sealed-third' });
    expect(receiver.received.find((r) => r.body.includes('sealed-third'))?.headers['x-clinic']).toBe('north');
    expect(
      (await postWebhook(t!, instagramEnvelope([messagingItem({ mid: 'm_c1', sender: 'patient-c', text: 'after' })])))
        .status,
    ).toBe(200);
    await replied('patient-c');
    // The id-less item again: its fingerprint did not change, so it is a duplicate.
    expect((await postWebhook(t!, idless)).status).toBe(200);
    await waitFor(async () => (await sql(`SELECT 1 FROM audit_log WHERE action = 'event.duplicate'`)).length > 0, {
      message: 'the id-less item recognised as a duplicate',
    });
    expect(await sql(`SELECT 1 FROM inbound_events WHERE kind = 'referral'`)).toHaveLength(1);
    expect(
      (await request(t!.url).get('/admin/encryption').set(ops())).body.keys.map((k: { id: string }) => k.id),
    ).toEqual(['B']);
  });

  it('covers every sealed column there is', async () => {
    const sealed = new Set(SEALED_COLUMNS.map((c) => `${c.table}.${c.column}`));
    const bytea = await sql<{ name: string }>(
      `SELECT table_name || '.' || column_name AS name FROM information_schema.columns
        WHERE table_schema = 'public' AND data_type IN ('bytea', 'ARRAY') AND (data_type = 'bytea' OR udt_name = '_bytea')`,
    );
    expect(bytea.map((c) => c.name).filter((name) => !sealed.has(name))).toEqual(['api_keys.key_hash']);
  });

  it('refuses a sealed value copied into another row, with a clear error and never the other content', async () => {
    if (!t) await start(ringB);
    const [original] = await sql<{ body: Buffer; payload: Buffer | null; eventId: string; receiptId: string }>(
      `SELECT w.body, e.payload, e.id AS "eventId", w.id AS "receiptId"
         FROM dead_letters d JOIN inbound_events e ON e.id = d.event_id JOIN webhook_receipts w ON w.id = e.receipt_id
        WHERE d.id = $1`,
      [deadLetterId],
    );
    // A single-item webhook's payload is its receipt's body (sealed once): copy both the body and any payload.
    await sql(
      `UPDATE webhook_receipts SET body = (SELECT w.body FROM webhook_receipts w JOIN inbound_events e ON e.receipt_id = w.id
                                            WHERE e.meta_message_id = 'm_a1')
        WHERE id = (SELECT e.receipt_id FROM dead_letters d JOIN inbound_events e ON e.id = d.event_id WHERE d.id = $1)`,
      [deadLetterId],
    );
    await sql(
      `UPDATE inbound_events SET payload = coalesce((SELECT payload FROM inbound_events WHERE meta_message_id = 'm_a1'), payload)
        WHERE id = (SELECT event_id FROM dead_letters WHERE id = $1)`,
      [deadLetterId],
    );
    const view = await payloadView('checking the copy');
    expect(view.status).toBe(409);
    expect(view.body.message).toBe(new DecryptionError('not_this_row').message);
    expect(JSON.stringify(view.body)).not.toContain('tooth');
    // The dead letter's own values again, for the next case.
    await sql(`UPDATE webhook_receipts SET body = $2 WHERE id = $1`, [original.receiptId, original.body]);
    await sql(`UPDATE inbound_events SET payload = $2 WHERE id = $1`, [original.eventId, original.payload]);
    // A message's text copied into another message does not open either.
    const cipher = new DataCipher(t!.config.keyring);
    await sql(
      `UPDATE messages SET content = (SELECT content FROM messages WHERE meta_message_id = 'm_a1') WHERE meta_message_id = 'm_b1'`,
    );
    const moved = (await storedValues(db.pool)).find(
      (s) => s.column.field === 'messages.content' && s.rowId === 'instagram:m_b1',
    )!;
    const opened = openStored(cipher, moved);
    expect(opened).toBeInstanceOf(DecryptionError);
    expect((opened as DecryptionError).failure).toBe('not_this_row');
  });

  it('asks for a reason, audits it with the patient fingerprint, and lists it in the access report', async () => {
    if (!t) await start(ringB);
    const missing = await payloadView();
    expect(missing.status).toBe(400);
    expect(JSON.stringify(missing.body.message)).toMatch(/reason/);
    expect((await payloadView('   ')).status).toBe(400);
    expect((await payloadView('ticket 77: patient asked')).status).toBe(200);
    const fingerprint = new DataCipher(t!.config.keyring).fingerprint('patient-dl');
    const [entry] = await sql<{ metadata: Record<string, unknown> }>(
      `SELECT metadata FROM audit_log WHERE action = 'deadletter.payload_viewed' ORDER BY id DESC LIMIT 1`,
    );
    expect(entry.metadata).toMatchObject({ reason: 'ticket 77: patient asked', participant: fingerprint });
    expect(JSON.stringify(entry.metadata)).not.toContain('patient-dl');

    const replay = await request(t!.url).post(`/admin/dead-letters/${deadLetterId}/replay`).set(ops());
    expect(replay.status).toBe(202);
    const report = await request(t!.url)
      .get('/admin/access-report')
      .query({ provider: 'instagram', participantId: 'patient-dl' })
      .set(ops());
    expect(report.status).toBe(200);
    expect(report.body.participant).toBe(fingerprint);
    const actions = report.body.items.map((item: { action: string }) => item.action);
    expect(actions[0]).toBe('deadletter.replayed');
    expect(
      report.body.items
        .filter((item: { action: string }) => item.action === 'deadletter.payload_viewed')
        .map((item: { reason: string }) => item.reason),
    ).toEqual(['ticket 77: patient asked', 'checking the copy', 'after rotation', 'rotation check']);
    const times = report.body.items.map((item: { occurredAt: string }) => item.occurredAt);
    expect([...times].sort().reverse()).toEqual(times);
    // Another patient's report holds none of it; an erasure shows in the report.
    const other = await request(t!.url)
      .get('/admin/access-report')
      .query({ provider: 'instagram', participantId: 'patient-a' })
      .set(ops());
    expect(other.body.items.map((item: { action: string }) => item.action)).not.toContain('deadletter.payload_viewed');
    expect(
      (
        await request(t!.url)
          .post('/admin/erasure')
          .set(ops())
          .send({ provider: 'instagram', participantId: 'patient-dl' })
      ).status,
    ).toBe(200);
    const erased = await request(t!.url)
      .get('/admin/access-report')
      .query({ provider: 'instagram', participantId: 'patient-dl' })
      .set(ops());
    expect(erased.body.items[0].action).toBe('participant.erased');
    expect(erased.body.items.length).toBeGreaterThan(report.body.items.length);
    expect((await request(t!.url).get('/admin/access-report').query({ provider: 'instagram' }).set(ops())).status).toBe(
      400,
    );
  });
});
