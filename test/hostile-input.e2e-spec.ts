import request from 'supertest';
import { request as undiciRequest } from 'undici';
import { DataCipher, sealedIn } from '../src/platform/crypto/data-cipher';
import { uuidv7 } from '../src/platform/crypto/ids';
import { InboundEventRepository, ReceiptToStore } from '../src/inbound/store/inbound-event.repository';
import { baseMessage, HostileCase, loadCorpus, SignatureKind } from './hostile-corpus/corpus';
import { instagramEnvelope, messagingItem, sign } from './support/meta-payloads';
import { startTestApp, TEST_APP_SECRET, TestApp } from './support/test-app';
import { waitFor } from './support/wait';

// Large enough for the 9 MB case; the over-limit cases are one byte beyond it.
const MAX_BODY_BYTES = 9_500_000;
const corpus = loadCorpus(MAX_BODY_BYTES);

describe('hostile input on the webhook route (test/hostile-corpus)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ env: { MAX_BODY_BYTES: String(MAX_BODY_BYTES), LOG_LEVEL: 'warn' } });
  });
  afterAll(async () => {
    await t?.close();
  });

  const sql = async <T = Record<string, unknown>>(text: string, params: unknown[] = []) =>
    (await t.db.pool.query(text, params)).rows as T[];

  const signatureFor = (body: Buffer, kind: SignatureKind = 'valid'): string | null => {
    switch (kind) {
      case 'none':
        return null;
      case 'wrong-secret':
        return sign(body, 'not-the-app-secret');
      case 'not-hex':
        return `sha256=${'zz'.repeat(32)}`;
      case 'no-prefix':
        return sign(body, TEST_APP_SECRET).slice('sha256='.length);
      case 'sha1':
        return `sha1=${'ab'.repeat(20)}`;
      case 'of-base-message':
        return sign(baseMessage(), TEST_APP_SECRET);
      default:
        return sign(body, TEST_APP_SECRET);
    }
  };

  /** Exact bytes on the wire (supertest would re-serialise a Buffer sent as JSON). */
  const post = async (path: string, body: Buffer | string, headers: Record<string, string>) => {
    const response = await undiciRequest(`${t.url}${path}`, { method: 'POST', headers, body });
    const text = await response.body.text();
    let json: unknown = text;
    try {
      json = JSON.parse(text);
    } catch {
      json = text;
    }
    return { status: response.statusCode, body: json, correlationId: String(response.headers['x-request-id']) };
  };

  const send = (item: HostileCase) => {
    const headers: Record<string, string> = {};
    if (item.contentType !== null) headers['content-type'] = item.contentType ?? 'application/json';
    const signature = signatureFor(item.body, item.signature);
    if (signature) headers['x-hub-signature-256'] = signature;
    return post(item.path ?? '/webhooks/instagram', item.body, headers);
  };

  const validWebhook = (i: number) => {
    const body = instagramEnvelope([
      messagingItem({ mid: `m_alongside_${i}`, sender: `alongside-${i}`, text: 'still here' }),
    ]);
    return post('/webhooks/instagram', body, {
      'content-type': 'application/json',
      'x-hub-signature-256': sign(body, TEST_APP_SECRET),
    });
  };

  interface ReceiptRow {
    id: string;
    body: Buffer | null;
    parse_error: string | null;
    events: number;
    malformed: string[] | null;
    kinds: string[] | null;
  }
  const receiptOf = async (correlationId: string) =>
    (
      await sql<ReceiptRow>(
        `SELECT r.id, r.body, r.parse_error,
                (SELECT count(*)::int FROM inbound_events e WHERE e.receipt_id = r.id) AS events,
                (SELECT array_agg(e.kind ORDER BY e.id) FROM inbound_events e WHERE e.receipt_id = r.id) AS kinds,
                (SELECT array_agg(d.error) FROM dead_letters d
                  WHERE d.receipt_id = r.id AND d.event_id IS NULL AND d.category = 'malformed') AS malformed
           FROM webhook_receipts r WHERE r.correlation_id = $1`,
        [correlationId],
      )
    )[0];

  it('answers every case per the contract, stores what it must, and harms no neighbour', async () => {
    let healthChecks = 0;
    const unhealthy: number[] = [];
    let running = true;
    const health = (async () => {
      while (running) {
        const res = await request(t.url).get('/health');
        healthChecks += 1;
        if (res.status !== 200 || res.body.status !== 'ok') unhealthy.push(res.status);
      }
    })();

    // Each hostile request races a valid webhook.
    const results = await Promise.all(
      corpus.map(async (item, i) => {
        const [hostile, valid] = await Promise.all([send(item), validWebhook(i)]);
        return { item, hostile, valid };
      }),
    );
    running = false;
    await health;

    expect(results.map(({ item, hostile }) => [item.name, hostile.status])).toEqual(
      corpus.map((item) => [item.name, item.expect.status]),
    );
    expect(results.filter(({ valid }) => valid.status !== 200)).toEqual([]);
    expect(healthChecks).toBeGreaterThan(0);
    expect(unhealthy).toEqual([]);
    for (const { item, hostile } of results.filter((r) => r.item.expect.status !== 200)) {
      // One error shape, no echo of the body.
      expect([item.name, hostile.body]).toEqual([
        item.name,
        expect.objectContaining({ statusCode: item.expect.status }),
      ]);
    }

    // Every signed body answered 200 is stored sealed, and becomes its events or a malformed dead letter.
    const cipher = t.app.get(DataCipher);
    for (const { item, hostile } of results.filter((r) => r.item.expect.status === 200)) {
      const receipt = await receiptOf(hostile.correlationId);
      expect([item.name, receipt !== undefined]).toEqual([item.name, true]);
      expect([
        item.name,
        cipher.decrypt(receipt.body!, sealedIn('webhook_receipts.body', receipt.id)).equals(item.body),
      ]).toEqual([item.name, true]);
      expect([item.name, receipt.malformed]).toEqual([
        item.name,
        item.expect.malformed ? [item.expect.malformed] : null,
      ]);
      expect([item.name, receipt.parse_error]).toEqual([item.name, item.expect.malformed ?? null]);
      if (item.expect.events !== undefined)
        expect([item.name, receipt.events]).toEqual([item.name, item.expect.events]);
      if (item.expect.kinds) expect([item.name, receipt.kinds]).toEqual([item.name, item.expect.kinds]);
      if (item.expect.repeats) {
        // The folded copy is audited as a duplicate of the event that was stored, with its id.
        const audit = await sql<{ event_id: string | null; repeats: number; stored: boolean }>(
          `SELECT a.event_id, (a.metadata->>'repeats')::int AS repeats,
                  EXISTS (SELECT 1 FROM inbound_events e WHERE e.id = a.event_id) AS stored
             FROM audit_log a WHERE a.correlation_id = $1 AND a.action = 'event.duplicate'`,
          [hostile.correlationId],
        );
        expect([item.name, audit]).toEqual([
          item.name,
          [{ event_id: expect.any(String), repeats: item.expect.repeats, stored: true }],
        ]);
      }
    }
    // No event audit entry without its event.
    expect(await sql(`SELECT action FROM audit_log WHERE action LIKE 'event.%' AND event_id IS NULL`)).toEqual([]);
    // Plain-text columns hold no control characters and stay bounded, whatever the ids were.
    expect(
      await sql(
        `SELECT id FROM inbound_events
          WHERE concat(account_id, sender_id, recipient_id, meta_message_id, idempotency_key) ~ '[\\x01-\\x1f\\x7f-\\x9f\\u202a-\\u202e]'
             OR greatest(length(account_id), length(sender_id), length(recipient_id), length(meta_message_id)) > 256
             OR length(idempotency_key) > 600`,
      ),
    ).toEqual([]);

    // Every valid webhook sent alongside got its reply; so did every hostile message that expects one (several
    // cases share the base message's sender).
    const replyTo = corpus.flatMap((item) => item.expect.replyTo ?? []);
    await waitFor(
      () =>
        corpus.every((_, i) => t.graph.repliesTo(`alongside-${i}`).length === 1) &&
        replyTo.every((id) => t.graph.repliesTo(id).length >= 1),
      { timeoutMs: 30_000, message: 'replies to the valid webhooks and the hostile messages' },
    );
    // Ids beyond 2^53 stay exact: two senders, two conversations, each reply to its own id.
    const participants = corpus.flatMap((item) => item.expect.conversations ?? []);
    const conversations = await sql<{ participant_id: string }>(
      `SELECT participant_id FROM conversations WHERE participant_id = ANY($1) ORDER BY participant_id`,
      [participants],
    );
    expect(conversations.map((c) => c.participant_id)).toEqual([...participants].sort());

    // Messages that parse but cannot be answered (no usable sender) are dead-lettered by the worker, not crashed on.
    const workerMalformed = corpus.flatMap((item) =>
      item.expect.workerMalformed ? [item.expect.workerMalformed] : [],
    );
    await waitFor(
      async () =>
        (
          await sql(
            `SELECT e.meta_message_id FROM dead_letters d JOIN inbound_events e ON e.id = d.event_id
              WHERE d.category = 'malformed' AND e.meta_message_id = ANY($1)`,
            [workerMalformed],
          )
        ).length === workerMalformed.length,
      { timeoutMs: 10_000, message: 'the sender-less messages dead-lettered as malformed' },
    );
    // The worker survived the odd payloads: nothing left unfinished.
    await waitFor(
      async () =>
        (await sql(`SELECT 1 FROM inbound_events WHERE status IN ('received', 'processing') LIMIT 1`)).length === 0,
      { timeoutMs: 30_000, message: 'every stored event finished' },
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((await request(t.url).get('/health')).status).toBe(200);
  });

  it('audits a key that two receipts of one statement share as a duplicate of the event stored', async () => {
    const cipher = t.app.get(DataCipher);
    const receipt = (correlationId: string, id = uuidv7(), eventId = uuidv7()): ReceiptToStore => ({
      id,
      provider: 'instagram',
      correlationId,
      sealedBody: cipher.encrypt('{}', sealedIn('webhook_receipts.body', id)),
      bodyBytes: 2,
      parseError: null,
      events: [
        {
          id: eventId,
          kind: 'reaction',
          channel: 'messaging',
          idempotencyKey: 'instagram:reaction:m_shared_statement',
          accountId: null,
          senderId: null,
          recipientId: null,
          metaMessageId: null,
          occurredAt: null,
          sealedPayload: cipher.encryptJson({}, sealedIn('inbound_events.payload', eventId)),
        },
      ],
    });
    const [first, second] = [receipt('shared-statement-1'), receipt('shared-statement-2')];
    const inserted = await t.app.get(InboundEventRepository).storeReceipts([first, second]);
    expect([...inserted]).toEqual([first.events[0].id]);
    const audit = await sql<{ action: string; event_id: string | null }>(
      `SELECT action, event_id FROM audit_log WHERE correlation_id LIKE 'shared-statement-%' ORDER BY correlation_id`,
    );
    expect(audit).toEqual([
      { action: 'event.received', event_id: first.events[0].id },
      { action: 'event.duplicate', event_id: first.events[0].id },
    ]);
  });

  it('refuses an oversized body without buffering it all, and keeps answering', async () => {
    const huge = Buffer.alloc(MAX_BODY_BYTES + 1_000_000, 0x61);
    const res = await undiciRequest(`${t.url}/webhooks/instagram`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': sign(huge, TEST_APP_SECRET) },
      body: huge,
    }).then(
      async (response) => {
        await response.body.text();
        return { status: response.statusCode };
      },
      () => ({ status: 0 }),
    );
    // Either a clean 413, or the server closed the connection after refusing (the client was still sending).
    expect([413, 0]).toContain(res.status);
    expect((await validWebhook(999)).status).toBe(200);
  });
});
