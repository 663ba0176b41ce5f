import { DataCipher } from '../../platform/crypto/data-cipher';
import { MalformedEnvelopeError } from '../channel-provider';
import { boundedText, decodeBody, idOf, keyOf, MAX_ID_LENGTH, MAX_KEY_LENGTH, readJsonBody } from './payload-reading';

const cipher = new DataCipher(Buffer.alloc(32, 7));
const fp = (value: string | Buffer) => cipher.fingerprint(value);
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
/** Encodable as UTF-8 as it is (no lone surrogate). */
const wellFormed = (text: string) => Buffer.from(text, 'utf8').toString('utf8') === text;

describe('boundedText', () => {
  it('keeps a clean, short id as it is', () => {
    expect(boundedText('aWdfZAG1faWQ6MTIzNDU2', fp)).toBe('aWdfZAG1faWQ6MTIzNDU2');
    expect(boundedText('m_\u2764\ufe0f_\u{1f600}', fp)).toBe('m_\u2764\ufe0f_\u{1f600}');
  });

  it('cleans control characters and lone surrogates, keeping ids that differ only there apart', () => {
    const withNul = boundedText('m_a\u0000b', fp);
    const withBell = boundedText('m_a\u0007b', fp);
    expect(withNul).not.toMatch(CONTROL);
    expect(withNul.startsWith('m_a\ufffdb\u2026fp-')).toBe(true);
    expect(withNul).not.toBe(withBell);
    expect(boundedText('m_\ud800', fp)).not.toBe(boundedText('m_\udbff', fp));
    expect(wellFormed(boundedText('m_\ud800', fp))).toBe(true);
  });

  it('bounds a long id by its fingerprint: ids that differ only in their last character stay apart', () => {
    const long = 'x'.repeat(3000);
    const a = boundedText(`${long}a`, fp);
    const b = boundedText(`${long}b`, fp);
    expect(a.length).toBeLessThanOrEqual(MAX_ID_LENGTH);
    expect(a).not.toBe(b);
    expect(boundedText('y'.repeat(MAX_ID_LENGTH), fp)).toBe('y'.repeat(MAX_ID_LENGTH));
  });

  it('fingerprints a key too long for the unique index, keeping its provider and kind', () => {
    const key = keyOf('instagram:reaction', `${'m'.repeat(256)}:${'s'.repeat(256)}:${'a'.repeat(256)}:1`, fp);
    expect(key).toMatch(/^instagram:reaction:h-[\w-]{32}$/);
    expect(keyOf('instagram:message', 'mid.1', fp)).toBe('instagram:message:mid.1');
    expect(MAX_KEY_LENGTH * 3).toBeLessThan(2704);
  });
});

describe('readJsonBody', () => {
  const body = (text: string) => Buffer.from(text);

  it('keeps integers beyond 2^53 exactly, as strings, and safe numbers as numbers', () => {
    const parsed = readJsonBody(
      body('{"a":{"id":12345678901234567890},"b":{"id":12345678901234567891},"t":1732250000123,"f":1.5}'),
    ) as Record<string, Record<string, unknown> | number>;
    expect(parsed).toEqual({
      a: { id: '12345678901234567890' },
      b: { id: '12345678901234567891' },
      t: 1732250000123,
      f: 1.5,
    });
    expect(idOf((parsed.a as Record<string, unknown>).id, fp)).toBe('12345678901234567890');
    expect(readJsonBody(body('[9007199254740991, 9007199254740993, -9007199254740993]'))).toEqual([
      9007199254740991,
      '9007199254740993',
      '-9007199254740993',
    ]);
  });

  it('reads like JSON.parse otherwise: last repeated key wins, __proto__ is an own key', () => {
    for (const text of ['{"a":1,"a":2,"n":12345678901234567890}', '{"a":1,"a":2}']) {
      expect((readJsonBody(body(text)) as Record<string, unknown>).a).toBe(2);
    }
    for (const text of ['{"__proto__":{"x":1},"n":12345678901234567890}', '{"__proto__":{"x":1}}']) {
      const parsed = readJsonBody(body(text)) as Record<string, unknown>;
      expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype);
      expect(Object.hasOwn(parsed, '__proto__')).toBe(true);
      expect(parsed.x).toBeUndefined();
    }
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('refuses what is not JSON, and a body too deep for the lossless reader, as malformed', () => {
    expect(() => readJsonBody(body('{"a":'))).toThrow(new MalformedEnvelopeError('invalid_json'));
    expect(() => readJsonBody(body('{"a":12345678901234567890'))).toThrow(new MalformedEnvelopeError('invalid_json'));
    const deep = `${'['.repeat(100_000)}12345678901234567890${']'.repeat(100_000)}`;
    expect(() => readJsonBody(body(deep))).toThrow(new MalformedEnvelopeError('too_deep'));
    // Without a long integer the native reader takes any depth.
    expect(() => readJsonBody(body(`${'['.repeat(100_000)}${']'.repeat(100_000)}`))).not.toThrow();
  });

  it('keeps ids that differ only in invalid UTF-8 bytes apart, and valid text intact', () => {
    const withBytes = (bytes: number[]) =>
      Buffer.concat([Buffer.from('{"mid":"m_'), Buffer.from(bytes), Buffer.from('","text":"caf\u00e9 \u{1f600}"}')]);
    const a = readJsonBody(withBytes([0xff])) as Record<string, string>;
    const b = readJsonBody(withBytes([0xfe])) as Record<string, string>;
    const c = readJsonBody(withBytes([0xc3])) as Record<string, string>;
    expect(new Set([a.mid, b.mid, c.mid]).size).toBe(3);
    expect(a.text).toBe('caf\u00e9 \u{1f600}');
    const ids = [a, b, c].map((parsed) => idOf(parsed.mid, fp) as string);
    expect(new Set(ids).size).toBe(3);
    for (const id of ids) expect(wellFormed(id)).toBe(true);
    // Outside a string an invalid byte is still not JSON.
    expect(() => readJsonBody(Buffer.from([0x7b, 0xff, 0x7d]))).toThrow(MalformedEnvelopeError);
  });

  it('decodes valid UTF-8 as it is, and each invalid byte as its own escape', () => {
    expect(decodeBody(Buffer.from('{"a":"\u00e9\u{1f600}"}'))).toBe('{"a":"\u00e9\u{1f600}"}');
    expect(decodeBody(Buffer.from([0x22, 0xe2, 0x82, 0x22]))).toBe('"\\udce2\\udc82"');
    // An overlong encoding and a UTF-8-encoded surrogate are invalid too.
    expect(decodeBody(Buffer.from([0xc0, 0xaf, 0xed, 0xa0, 0x80]))).toBe('\\udcc0\\udcaf\\udced\\udca0\\udc80');
  });
});
