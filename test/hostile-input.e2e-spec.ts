import request from 'supertest';
import { request as undiciRequest } from 'undici';
import { instagramEnvelope, messagingItem, sign } from './support/meta-payloads';
import { startTestApp, TEST_APP_SECRET, TestApp } from './support/test-app';
import { waitFor } from './support/wait';

const MAX_BODY_BYTES = 256 * 1024;

interface HostileCase {
  name: string;
  body: Buffer | string;
  /** null: no content-type header. */
  contentType?: string | null;
  signature?: 'valid' | 'none' | 'wrong-secret' | 'not-hex' | 'no-prefix' | 'sha1' | 'of-another-body';
  expected: 200 | 401 | 404 | 413;
  /** Signed but not a Meta envelope: stored and dead-lettered as `malformed`. */
  malformed?: boolean;
  path?: string;
}

const envelope = instagramEnvelope([messagingItem({ mid: 'm_hostile_base', sender: 'hostile-sender', text: 'hi' })]);
const pad = (json: string, size: number) => json.replace(/}$/, `,"pad":"${'x'.repeat(size - json.length - 9)}"}`);
const deepArray = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

/** The corpus: what an attacker, a broken proxy or a confused client may send to the webhook route. */
const corpus: HostileCase[] = [
  { name: 'unsigned envelope', body: envelope, signature: 'none', expected: 401 },
  { name: 'signed with the wrong secret', body: envelope, signature: 'wrong-secret', expected: 401 },
  { name: 'signature that is not hex', body: envelope, signature: 'not-hex', expected: 401 },
  { name: 'signature without the sha256= prefix', body: envelope, signature: 'no-prefix', expected: 401 },
  { name: 'sha1 signature only', body: envelope, signature: 'sha1', expected: 401 },
  {
    name: 'valid signature replayed with a changed body',
    body: envelope.replace('"hi"', '"ho"'),
    signature: 'of-another-body',
    expected: 401,
  },
  {
    name: 'valid signature replayed with trailing whitespace',
    body: `${envelope} `,
    signature: 'of-another-body',
    expected: 401,
  },
  { name: 'unsigned, over MAX_BODY_BYTES', body: pad(envelope, MAX_BODY_BYTES + 1), signature: 'none', expected: 413 },
  { name: 'signed, one byte over MAX_BODY_BYTES', body: pad(envelope, MAX_BODY_BYTES + 1), expected: 413 },
  { name: 'signed, exactly MAX_BODY_BYTES', body: pad(envelope, MAX_BODY_BYTES), expected: 200 },
  { name: 'truncated JSON', body: envelope.slice(0, envelope.length / 2), expected: 200, malformed: true },
  { name: 'empty body', body: '', expected: 200, malformed: true },
  { name: 'deeply nested arrays (50,000 levels)', body: deepArray(50_000), expected: 200, malformed: true },
  {
    name: 'deeply nested value inside an entry',
    body: `{"object":"instagram","entry":[${deepArray(50_000)}]}`,
    expected: 200,
  },
  {
    name: 'deeply nested objects (20,000 levels)',
    body: `${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}`,
    expected: 200,
    malformed: true,
  },
  {
    name: 'invalid UTF-8 inside a message text',
    body: Buffer.concat([
      Buffer.from(envelope.replace('"hi"', '"')),
      Buffer.from([0xff, 0xfe, 0xc3]),
      Buffer.from(envelope.slice(envelope.indexOf('"hi"') + 3)),
    ]),
    expected: 200,
  },
  {
    name: 'binary garbage (invalid UTF-8 everywhere)',
    body: Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 151 + 7) % 256)),
    expected: 200,
    malformed: true,
  },
  {
    name: 'huge array of messaging items that are not objects',
    body: `{"object":"instagram","entry":[{"id":"1","messaging":[${Array(100_000).fill('1').join(',')}]}]}`,
    expected: 200,
  },
  {
    name: 'huge entry array of nulls',
    body: `{"object":"instagram","entry":[${Array(40_000).fill('null').join(',')}]}`,
    expected: 200,
  },
  { name: 'empty object', body: '{}', expected: 200, malformed: true },
  { name: 'JSON null', body: 'null', expected: 200, malformed: true },
  { name: 'a JSON string', body: '"EVENT"', expected: 200, malformed: true },
  { name: 'object missing entry', body: '{"object":"instagram"}', expected: 200, malformed: true },
  { name: 'entry missing object', body: '{"entry":[]}', expected: 200, malformed: true },
  { name: "another product's envelope", body: '{"object":"page","entry":[]}', expected: 200, malformed: true },
  { name: 'entry is a string', body: '{"object":"instagram","entry":"x"}', expected: 200, malformed: true },
  {
    name: 'messaging is an object',
    body: '{"object":"instagram","entry":[{"id":{},"messaging":{"a":1}}]}',
    expected: 200,
  },
  {
    name: 'wrongly typed message fields',
    body: '{"object":"instagram","entry":[{"id":1,"time":"soon","messaging":[{"sender":{"id":[1]},"recipient":{"id":{}},"timestamp":"x","message":{"mid":"m_hostile_typed","text":{"t":1},"attachments":"no"}}]}]}',
    expected: 200,
  },
  {
    name: 'a message with no sender',
    body: '{"object":"instagram","entry":[{"id":"1","messaging":[{"message":{"mid":"m_hostile_nosender","text":"x"}}]}]}',
    expected: 200,
  },
  {
    name: '__proto__ and constructor keys',
    body: '{"object":"instagram","__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}},"entry":[{"id":"1","__proto__":{"messaging":[1]}}]}',
    expected: 200,
  },
  {
    name: 'huge numbers and timestamps',
    body: '{"object":"instagram","entry":[{"id":1e400,"time":-1,"messaging":[{"sender":{"id":1e308},"recipient":{"id":"1"},"timestamp":9e99,"message":{"mid":"m_hostile_numbers","text":"x"}}]}]}',
    expected: 200,
  },
  {
    name: 'content-type text/plain, signed',
    body: envelope.replace('m_hostile_base', 'm_hostile_text'),
    contentType: 'text/plain',
    expected: 200,
  },
  {
    name: 'content-type form-urlencoded, signed',
    body: envelope.replace('m_hostile_base', 'm_hostile_form'),
    contentType: 'application/x-www-form-urlencoded',
    expected: 200,
  },
  {
    name: 'content-type multipart, signed',
    body: envelope.replace('m_hostile_base', 'm_hostile_multi'),
    contentType: 'multipart/form-data; boundary=x',
    expected: 200,
  },
  {
    name: 'no content-type, signed',
    body: envelope.replace('m_hostile_base', 'm_hostile_noct'),
    contentType: null,
    expected: 200,
  },
  {
    name: 'content-type text/plain, unsigned',
    body: envelope,
    contentType: 'text/plain',
    signature: 'none',
    expected: 401,
  },
  {
    name: 'JSON with a charset parameter, signed',
    body: envelope.replace('m_hostile_base', 'm_hostile_charset'),
    contentType: 'application/json; charset=latin1',
    expected: 200,
  },
  { name: 'unknown provider', body: envelope, expected: 404, path: '/webhooks/myspace' },
];

describe('hostile input on the webhook route', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ env: { MAX_BODY_BYTES: String(MAX_BODY_BYTES), LOG_LEVEL: 'warn' } });
  });
  afterAll(async () => {
    await t?.close();
  });

  const signatureFor = (body: Buffer | string, kind: HostileCase['signature'] = 'valid'): string | null => {
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
      case 'of-another-body':
        return sign(envelope, TEST_APP_SECRET);
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
    return { status: response.statusCode, body: json };
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

  it('answers every case with the contract status, keeps serving, and processes the valid webhooks sent alongside', async () => {
    const malformedBefore = Number(
      (await t.db.pool.query(`SELECT count(*) FROM dead_letters WHERE category = 'malformed' AND event_id IS NULL`))
        .rows[0].count,
    );
    // Each hostile request races a valid webhook.
    const results = await Promise.all(
      corpus.map(async (item, i) => {
        const [hostile, valid] = await Promise.all([send(item), validWebhook(i)]);
        return {
          name: item.name,
          status: hostile.status,
          expected: item.expected,
          body: hostile.body,
          valid: valid.status,
        };
      }),
    );
    expect(results.map(({ name, status }) => [name, status])).toEqual(corpus.map((item) => [item.name, item.expected]));
    expect(results.every((result) => result.valid === 200)).toBe(true);
    for (const result of results.filter((r) => r.expected !== 200)) {
      // One error shape, no echo of the body.
      expect(result.body).toMatchObject({ statusCode: result.expected });
    }

    expect((await request(t.url).get('/health')).status).toBe(200);
    const expectedMalformed = corpus.filter((item) => item.malformed && item.expected === 200).length;
    await waitFor(
      async () =>
        Number(
          (await t.db.pool.query(`SELECT count(*) FROM dead_letters WHERE category = 'malformed' AND event_id IS NULL`))
            .rows[0].count,
        ) -
          malformedBefore ===
        expectedMalformed,
      { timeoutMs: 10_000, message: `${expectedMalformed} malformed dead letters` },
    );
    // Messages that parse but cannot be answered (no usable sender) are dead-lettered by the worker, not crashed on.
    await waitFor(
      async () =>
        (
          await t.db.pool.query(
            `SELECT e.meta_message_id FROM dead_letters d JOIN inbound_events e ON e.id = d.event_id
              WHERE d.category = 'malformed' AND e.meta_message_id IN ('m_hostile_typed', 'm_hostile_nosender')`,
          )
        ).rows.length === 2,
      { timeoutMs: 10_000, message: 'the sender-less messages dead-lettered as malformed' },
    );
    // Every valid webhook sent alongside got its reply.
    await waitFor(() => corpus.every((_, i) => t.graph.repliesTo(`alongside-${i}`).length === 1), {
      timeoutMs: 30_000,
      message: 'replies to the valid webhooks',
    });
    // Signed messages with odd content types are ordinary messages: replied to as well.
    for (const sender of ['hostile-sender']) expect(t.graph.repliesTo(sender).length).toBeGreaterThanOrEqual(1);
    // The worker survived the odd payloads: nothing left unfinished.
    await waitFor(
      async () =>
        Number(
          (await t.db.pool.query(`SELECT count(*) FROM inbound_events WHERE status IN ('received', 'processing')`))
            .rows[0].count,
        ) === 0,
      { timeoutMs: 30_000, message: 'every stored event finished' },
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses an oversized body without buffering it all, and keeps answering', async () => {
    const huge = Buffer.alloc(MAX_BODY_BYTES * 8, 0x61);
    const res = await request(t.url)
      .post('/webhooks/instagram')
      .set('content-type', 'application/json')
      .set('x-hub-signature-256', sign(huge, TEST_APP_SECRET))
      .send(huge)
      .catch((error: { status?: number; response?: { status: number } }) => error.response ?? { status: 0 });
    // Either a clean 413, or the server closed the connection after refusing (the client was still sending).
    expect([413, 0]).toContain(res.status);
    expect((await validWebhook(999)).status).toBe(200);
  });
});
