import fc from 'fast-check';
import { DataCipher } from '../../platform/crypto/data-cipher';
import { MalformedEnvelopeError } from '../../providers/channel-provider';
import { INBOUND_PROVIDERS } from '../../providers/inbound-providers';
import { MAX_ID_LENGTH, MAX_KEY_LENGTH } from '../../providers/meta/payload-reading';
import { readWebhookBody } from './webhook-body';

/** Property-based: whatever a signed body holds, the readers end in events or the malformed path, never a throw. */
const cipher = new DataCipher(Buffer.alloc(32, 3));
const fp = (value: string | Buffer) => cipher.fingerprint(value);
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/;
const wellFormed = (text: string) => Buffer.from(text, 'utf8').toString('utf8') === text;
const REASONS = [
  'invalid_json',
  'not_an_envelope',
  'wrong_object',
  'too_many_events',
  'too_deep',
  'unreadable_items',
  'parser_error',
];

// Markers replaced in the serialised text: raw integer digits beyond 2^53, and raw invalid UTF-8 bytes.
const BIG = '\u0001BIG';
const BAD = '\u0001BAD';
const DEEP = '\u0001DEEP';

const anyUnit = fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code));
const hostileString = fc.oneof(
  fc.string({ unit: anyUnit, maxLength: 40 }),
  fc.string({ unit: 'binary-ascii', maxLength: 40 }),
  fc.string({ minLength: 2_000, maxLength: 3_500 }),
  fc.constantFrom('', '0', '__proto__', 'constructor', 'comments', 'messages', 'react', 'a\u0000b', 'x\ud800'),
  fc.string({ maxLength: 8 }).map((text) => `${text}${BAD}`),
);
const hostileNumber = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.bigInt({ min: 2n ** 53n, max: 2n ** 80n }).map((big) => `${BIG}${big}`),
  fc.constantFrom(0, -1, 1e15, 978307200, 1e308),
);
// Written as a marker, expanded in the text: a value this deep cannot go through JSON.stringify.
const deep = fc
  .tuple(fc.integer({ min: 1_000, max: 6_000 }), fc.boolean())
  .map(([depth, arrays]) => `${DEEP}${arrays ? 'a' : 'o'}${depth}`);
const scalar = fc.oneof(hostileString, hostileNumber, fc.constantFrom(null, true, false));
const value = fc.oneof({ weight: 6, arbitrary: scalar }, { weight: 1, arbitrary: deep }, fc.jsonValue({ maxDepth: 2 }));
const id = fc.oneof({ weight: 4, arbitrary: fc.oneof(hostileString, hostileNumber) }, { weight: 1, arbitrary: value });
const maybe = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: undefined });
const partial = <T extends Record<string, fc.Arbitrary<unknown>>>(model: T) => fc.record(model, { requiredKeys: [] });

const messagingItem = fc.oneof(
  {
    weight: 8,
    arbitrary: partial({
      sender: partial({ id }),
      recipient: partial({ id }),
      timestamp: value,
      message: partial({ mid: id, text: value, is_echo: fc.boolean(), is_deleted: fc.boolean(), attachments: value }),
      message_edit: partial({ mid: id, num_edit: id, text: value }),
      reaction: partial({ mid: id, action: value }),
      read: partial({ mid: id, watermark: id }),
      postback: partial({ mid: id }),
      referral: value,
      deep,
    }),
  },
  { weight: 1, arbitrary: value },
);
const metaChange = partial({
  field: value,
  time: value,
  value: partial({ id, from: partial({ id }), timestamp: value, deep }),
});
const metaEnvelope = (object: string) =>
  partial({
    object: fc.oneof({ weight: 9, arbitrary: fc.constant(object) }, { weight: 1, arbitrary: value }),
    entry: fc.array(
      partial({
        id,
        time: value,
        messaging: fc.array(messagingItem, { maxLength: 6 }),
        standby: fc.array(messagingItem, { maxLength: 2 }),
        changes: fc.array(metaChange, { maxLength: 3 }),
      }),
      { maxLength: 3 },
    ),
  });
const whatsappEnvelope = partial({
  object: fc.constant('whatsapp_business_account'),
  entry: fc.array(
    partial({
      id,
      changes: fc.array(
        partial({
          field: fc.oneof(fc.constant('messages'), value),
          value: partial({
            metadata: partial({ phone_number_id: id }),
            messages: fc.array(
              partial({
                id,
                from: id,
                type: fc.oneof(fc.constantFrom('text', 'image', 'reaction', 'constructor', '__proto__'), value),
                text: partial({ body: value }),
                image: value,
                timestamp: value,
                deep,
              }),
              { maxLength: 4 },
            ),
            statuses: fc.array(partial({ id, status: value, recipient_id: id, timestamp: value }), { maxLength: 3 }),
          }),
        }),
        { maxLength: 3 },
      ),
    }),
    { maxLength: 2 },
  ),
});

/** The JSON text with the markers turned into what JSON.stringify cannot write: raw big integers, raw invalid bytes. */
function bodyOf(envelope: unknown): Buffer {
  const text = JSON.stringify(envelope)
    .replace(/"\\u0001BIG(\d+)"/g, '$1')
    .replace(/"\\u0001DEEP([ao])(\d+)"/g, (_, kind: string, depth: string) =>
      kind === 'a' ? `${'['.repeat(+depth)}1${']'.repeat(+depth)}` : `${'{"a":'.repeat(+depth)}1${'}'.repeat(+depth)}`,
    );
  const parts = text.split('\\u0001BAD');
  return Buffer.concat(
    parts.flatMap((part, i) => (i === 0 ? [Buffer.from(part)] : [Buffer.from([0xff, 0xc3]), Buffer.from(part)])),
  );
}

function expectClean(column: string | null): void {
  if (column === null) return;
  expect(column.length).toBeGreaterThan(0);
  expect(column.length).toBeLessThanOrEqual(MAX_ID_LENGTH);
  expect(UNSAFE.test(column)).toBe(false);
  expect(wellFormed(column)).toBe(true);
}

describe('webhook body reading, fuzzed', () => {
  const cases: [string, fc.Arbitrary<unknown>][] = [
    ['instagram', metaEnvelope('instagram')],
    ['facebook', metaEnvelope('page')],
    ['whatsapp', whatsappEnvelope],
  ];

  it.each(cases)('%s: any envelope becomes clean, bounded, unique events or a malformed reason', (name, envelope) => {
    const provider = INBOUND_PROVIDERS.get(name)!;
    fc.assert(
      fc.property(envelope, (generated) => {
        const read = readWebhookBody(provider, bodyOf(generated), cipher);
        if (read.parseError !== null) expect(REASONS).toContain(read.parseError);
        const keys = new Set<string>();
        for (const event of read.events) {
          expect(event.idempotencyKey.startsWith(`${name}:${event.kind}:`)).toBe(true);
          expect(event.idempotencyKey.length).toBeLessThanOrEqual(MAX_KEY_LENGTH);
          expect(UNSAFE.test(event.idempotencyKey)).toBe(false);
          expect(wellFormed(event.idempotencyKey)).toBe(true);
          expect(keys.has(event.idempotencyKey)).toBe(false);
          keys.add(event.idempotencyKey);
          for (const column of [event.accountId, event.senderId, event.recipientId, event.metaMessageId]) {
            expectClean(column);
          }
          // A body's only item has no sealed copy of its own: the receipt's sealed body is its payload.
          if (read.events.length === 1 && read.itemCount === 1) expect(event.sealedPayload).toBeNull();
          else expect(event.sealedPayload).toBeInstanceOf(Buffer);
        }
      }),
      { numRuns: 40 },
    );
  });

  it.each(['instagram', 'facebook', 'whatsapp'])('%s: the parser throws nothing but MalformedEnvelopeError', (name) => {
    const provider = INBOUND_PROVIDERS.get(name)!;
    fc.assert(
      fc.property(fc.oneof(fc.anything(), fc.jsonValue()), (body) => {
        try {
          provider.parse(body, fp);
        } catch (error) {
          expect(error).toBeInstanceOf(MalformedEnvelopeError);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('reads arbitrary bytes without throwing', () => {
    const provider = INBOUND_PROVIDERS.get('instagram')!;
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const read = readWebhookBody(provider, Buffer.from(bytes), cipher);
        expect(read.events.length === 0 || read.parseError === null || read.parseError === 'unreadable_items').toBe(
          true,
        );
      }),
      { numRuns: 300 },
    );
  });
});
