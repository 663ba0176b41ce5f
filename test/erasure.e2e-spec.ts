import request from 'supertest';
import { SEALED_COLUMNS } from '../src/ops/keys/sealed-columns';
import { DataCipher, sealedIn } from '../src/platform/crypto/data-cipher';
import { uuidv7 } from '../src/platform/crypto/ids';
import { openStored, storedValues } from './support/sealed';
import { ACCOUNT_ID, instagramEnvelope, messagingItem, sign } from './support/meta-payloads';
import { startTestApp, TEST_APP_SECRET, TestApp } from './support/test-app';
import { waitFor } from './support/wait';

const OPS_KEY = 'ops-key-erasure-test-0123456789abcdef';
const STAFF_KEY = 'staff-key-erasure-test-0123456789abcdef';
const PATIENT = '990001112223334';
const PATIENT_MARKER = 'ERASE-ME-7f3a9c';
const OTHER = '880005556667778';
const OTHER_MARKER = 'KEEP-ME-2b8d41';

describe('erasure (real Postgres and Redis)', () => {
  let t: TestApp;
  let cipher: DataCipher;

  beforeAll(async () => {
    // No staff handoff: the staff echo below would otherwise silence the reply to the patient's second message
    // whenever it is processed first (its jobs run concurrently), and the count of sent replies would race.
    t = await startTestApp({ env: { OPS_API_KEYS: OPS_KEY, STAFF_API_KEYS: STAFF_KEY, HANDOFF_MINUTES: '0' } });
    cipher = new DataCipher(t.config.keyring);
  });
  afterAll(async () => {
    await t?.close();
  });

  const sql = async <T = Record<string, unknown>>(text: string, params: unknown[] = []) =>
    (await t.db.pool.query(text, params)).rows as T[];
  const post = (items: Record<string, unknown>[]) => {
    const body = instagramEnvelope(items);
    return request(t.url)
      .post('/webhooks/instagram')
      .set('content-type', 'application/json')
      .set('x-hub-signature-256', sign(body, TEST_APP_SECRET))
      .send(body);
  };
  const erase = (body: unknown, key = OPS_KEY) =>
    request(t.url)
      .post('/admin/erasure')
      .set('authorization', `Bearer ${key}`)
      .send(body as object);

  /** Every sealed value, decrypted where it decrypts, and every other bytea value as it is. */
  async function decryptEverything(): Promise<string[]> {
    const plain = (await storedValues(t.db.pool)).map((stored) => {
      const opened = openStored(cipher, stored);
      return (opened instanceof Buffer ? opened : stored.value).toString('utf8');
    });
    const sealed = new Set(SEALED_COLUMNS.map((column) => `${column.table}.${column.column}`));
    const columns = await sql<{ table_name: string; column_name: string }>(
      `SELECT table_name, column_name FROM information_schema.columns
        WHERE table_schema = 'public' AND data_type = 'bytea'`,
    );
    for (const { table_name, column_name } of columns.filter((c) => !sealed.has(`${c.table_name}.${c.column_name}`))) {
      const rows = await sql<{ v: Buffer }>(
        `SELECT "${column_name}" AS v FROM "${table_name}" WHERE "${column_name}" IS NOT NULL`,
      );
      plain.push(...rows.map(({ v }) => v.toString('utf8')));
    }
    return plain;
  }
  /** Every row of every table, as text. */
  async function dumpEverything(): Promise<string> {
    const tables = await sql<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`,
    );
    const parts: string[] = [];
    for (const { table_name } of tables) {
      const rows = await sql<{ r: string }>(`SELECT t::text AS r FROM "${table_name}" t`);
      parts.push(...rows.map((row) => row.r));
    }
    return parts.join('\n');
  }

  it('needs an ops key and a valid body', async () => {
    expect(
      (await request(t.url).post('/admin/erasure').send({ provider: 'instagram', participantId: '1' })).status,
    ).toBe(401);
    expect((await erase({ provider: 'instagram', participantId: '1' }, STAFF_KEY)).status).toBe(403);
    expect((await erase({ provider: 'myspace', participantId: '1' })).status).toBe(400);
    expect((await erase({ provider: 'instagram' })).status).toBe(400);
    expect((await erase({ provider: 'instagram', participantId: "1' OR 1=1" })).status).toBe(400);
  });

  it("removes a patient's content and replaces their id by its fingerprint everywhere; nothing decrypts to their text", async () => {
    const now = Date.now();
    // One webhook carries both patients: the shared raw body must go too.
    expect(
      (
        await post([
          messagingItem({ mid: 'm_er_1', sender: PATIENT, text: `${PATIENT_MARKER} first`, timestamp: now }),
          messagingItem({ mid: 'm_er_other_1', sender: OTHER, text: `${OTHER_MARKER} first`, timestamp: now }),
        ])
      ).status,
    ).toBe(200);
    expect(
      (
        await post([
          messagingItem({ mid: 'm_er_2', sender: PATIENT, text: `${PATIENT_MARKER} second`, timestamp: now + 1 }),
          messagingItem({
            mid: 'm_er_echo',
            sender: PATIENT,
            isEcho: true,
            text: `reply to ${PATIENT_MARKER}`,
            timestamp: now + 2,
          }),
          {
            sender: { id: PATIENT },
            recipient: { id: ACCOUNT_ID },
            timestamp: now + 3,
            reaction: { mid: 'm_er_echo', action: 'react', reaction: 'love', emoji: '❤️' },
          },
          { sender: { id: PATIENT }, recipient: { id: ACCOUNT_ID }, timestamp: now + 4, read: { mid: 'm_er_echo' } },
        ])
      ).status,
    ).toBe(200);
    expect(
      (await post([messagingItem({ mid: 'm_er_other_2', sender: OTHER, text: `${OTHER_MARKER} 2`, timestamp: now })]))
        .status,
    ).toBe(200);
    // Signed but not a Meta envelope: stored (and dead-lettered as malformed) without any event.
    const malformed = JSON.stringify({
      object: 'instagram',
      entry: 'not-a-list',
      sender: { id: PATIENT },
      text: PATIENT_MARKER,
    });
    const res0 = await request(t.url)
      .post('/webhooks/instagram')
      .set('content-type', 'application/json')
      .set('x-hub-signature-256', sign(malformed, TEST_APP_SECRET))
      .send(malformed);
    expect(res0.status).toBe(200);
    await waitFor(
      async () =>
        (await sql(`SELECT 1 FROM inbound_events WHERE status <> 'processed'`)).length === 0 &&
        (await sql(`SELECT 1 FROM replies WHERE status = 'sent'`)).length === 4,
      { message: 'every event processed and the four replies sent' },
    );
    await sql(`INSERT INTO vip_senders (provider, sender_id, note) VALUES ('instagram', $1, 'priority patient')`, [
      PATIENT,
    ]);
    // What the bridge publishes when someone subscribes to instagram.message.received (ids only, sealed).
    const [{ id: patientEvent }] = await sql<{ id: string }>(
      `SELECT id FROM inbound_events WHERE sender_id = $1 AND kind = 'message' LIMIT 1`,
      [PATIENT],
    );
    const outboundEventId = uuidv7();
    const [{ id: outboundEvent }] = await sql<{ id: string }>(
      `INSERT INTO outbound_events (id, event_type, priority, data_sealed, publisher, idempotency_key)
       VALUES ($3, 'instagram.message.received', 5, $1, 'system', $2) RETURNING id`,
      [
        cipher.encrypt(JSON.stringify({ senderId: PATIENT }), sealedIn('outbound_events.data', outboundEventId)),
        `instagram.message.received:${patientEvent}`,
        outboundEventId,
      ],
    );
    await sql(
      `WITH delivery AS (
         INSERT INTO outbound_deliveries (event_id, endpoint_id, status) VALUES ($1, gen_random_uuid(), 'succeeded')
         RETURNING id, event_id, endpoint_id
       )
       INSERT INTO outbound_attempts (delivery_id, endpoint_id, event_id, attempt, status, response_code, duration_ms)
       SELECT id, endpoint_id, event_id, 1, 'success', 200, 3 FROM delivery`,
      [outboundEvent],
    );
    expect((await decryptEverything()).some((text) => text.includes(PATIENT_MARKER))).toBe(true);
    expect(await dumpEverything()).toContain(PATIENT);

    const res = await erase({ provider: 'instagram', participantId: PATIENT }).set('x-request-id', 'corr-erase-1');
    expect(res.status).toBe(200);
    const fingerprint = cipher.fingerprint(PATIENT);
    expect(res.body).toEqual({
      provider: 'instagram',
      fingerprint,
      counts: {
        conversations: 1,
        messageContent: 3, // two incoming, one echo
        receiptBodies: 3, // the two that carried their events, and the malformed one
        eventPayloads: 5,
        events: 5,
        replies: 2,
        vipSenders: 1,
        outboundEvents: 1,
      },
    });
    expect(await sql(`SELECT 1 FROM outbound_events WHERE id = $1`, [outboundEvent])).toHaveLength(0);
    expect(await sql(`SELECT 1 FROM outbound_deliveries WHERE event_id = $1`, [outboundEvent])).toHaveLength(0);
    expect(await sql(`SELECT 1 FROM outbound_attempts WHERE event_id = $1`, [outboundEvent])).toHaveLength(0);
    expect((await decryptEverything()).filter((text) => text.includes(PATIENT))).toEqual([]);

    const plain = await decryptEverything();
    expect(plain.filter((text) => text.includes(PATIENT_MARKER))).toEqual([]);
    // The scan does see what it should: the other patient's data is intact.
    expect(plain.some((text) => text.includes(OTHER_MARKER))).toBe(true);

    const dump = await dumpEverything();
    expect(dump).not.toContain(PATIENT);
    expect(dump).toContain(fingerprint);
    expect(dump).toContain(OTHER);

    const [audit] = await sql<{
      actor: string;
      provider: string;
      correlation_id: string;
      metadata: Record<string, unknown>;
    }>(`SELECT actor, provider, correlation_id, metadata FROM audit_log WHERE action = 'participant.erased'`);
    expect(audit).toEqual({
      actor: 'env:ops:1',
      provider: 'instagram',
      correlation_id: 'corr-erase-1',
      metadata: { fingerprint, counts: res.body.counts },
    });
    // The request's correlation id is on the action's own log line, not only on the request line.
    const logged = t
      .logs()
      .split('\n')
      .filter((line) => line.includes('"participant erased"'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(logged).toEqual([expect.objectContaining({ correlationId: 'corr-erase-1', fingerprint })]);

    // Rows stay, pseudonymous: the conversation and its replies are still counted.
    expect(await sql(`SELECT 1 FROM conversations WHERE participant_id = $1`, [fingerprint])).toHaveLength(1);
    expect(await sql(`SELECT 1 FROM replies WHERE recipient_id = $1 AND status = 'sent'`, [fingerprint])).toHaveLength(
      2,
    );

    // Erasing again finds no content left.
    const again = await erase({ provider: 'instagram', participantId: PATIENT });
    expect(again.body.counts).toMatchObject({ messageContent: 0, receiptBodies: 0, eventPayloads: 0 });
  });

  it('keeps a redelivered old message a duplicate, and erases a patient who wrote again after an earlier erasure', async () => {
    const now = Date.now();
    // Meta redelivers an erased message: still a duplicate (its key holds the mid, not the sender).
    expect(
      (await post([messagingItem({ mid: 'm_er_1', sender: PATIENT, text: `${PATIENT_MARKER} first`, timestamp: now })]))
        .status,
    ).toBe(200);
    expect(await sql(`SELECT 1 FROM inbound_events WHERE meta_message_id = 'm_er_1'`)).toHaveLength(1);

    expect(
      (await post([messagingItem({ mid: 'm_er_3', sender: PATIENT, text: `${PATIENT_MARKER} again`, timestamp: now })]))
        .status,
    ).toBe(200);
    await waitFor(async () => (await sql(`SELECT 1 FROM replies WHERE status = 'sent'`)).length === 5, {
      message: 'the new message processed',
    });
    const res = await erase({ provider: 'instagram', participantId: PATIENT });
    expect(res.body.counts).toMatchObject({ conversations: 1, messageContent: 1, eventPayloads: 1, replies: 1 });
    expect((await decryptEverything()).filter((text) => text.includes(PATIENT_MARKER))).toEqual([]);
    expect(await dumpEverything()).not.toContain(PATIENT);
    // The new conversation merged into the pseudonymous one.
    const fingerprint = cipher.fingerprint(PATIENT);
    expect(await sql(`SELECT 1 FROM conversations WHERE participant_id = $1`, [fingerprint])).toHaveLength(1);
    expect(
      await sql(
        `SELECT 1 FROM messages m JOIN conversations c ON c.id = m.conversation_id WHERE c.participant_id = $1`,
        [fingerprint],
      ),
    ).toHaveLength(4);
  });
});
