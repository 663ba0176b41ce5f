import { createHmac } from 'node:crypto';
import { SignatureVerifier } from './signature-verifier';

const SECRET = 'app-secret';
const hmac = (body: Buffer | string, secret = SECRET) =>
  `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

describe('SignatureVerifier', () => {
  const verifier = new SignatureVerifier([SECRET, 'previous-secret']);

  it('accepts the HMAC-SHA256 of the raw bytes', () => {
    const body = Buffer.from('{"object":"instagram","entry":[]}');
    expect(verifier.verify(body, hmac(body))).toBe('valid');
    expect(verifier.verify(body, hmac(body).toUpperCase().replace('SHA256=', 'sha256='))).toBe('valid');
  });

  it('accepts a signature made with any configured secret (rotation)', () => {
    const body = Buffer.from('{}');
    expect(verifier.verify(body, hmac(body, 'previous-secret'))).toBe('valid');
    expect(verifier.verify(body, hmac(body, 'someone-else'))).toBe('invalid');
  });

  it('checks the bytes Meta sent, not a re-serialised body: \\u00e1 escapes must survive', () => {
    // Meta escapes non-ASCII characters; JSON.parse + JSON.stringify turns "\u00e1" into "á" and changes the bytes.
    const raw = Buffer.from('{"entry":[{"messaging":[{"message":{"text":"M\\u00e1laga ma\\u00f1ana"}}]}]}');
    const signature = hmac(raw);
    const reserialised = Buffer.from(JSON.stringify(JSON.parse(raw.toString('utf8'))));
    expect(reserialised.equals(raw)).toBe(false);
    expect(verifier.verify(raw, signature)).toBe('valid');
    expect(verifier.verify(reserialised, signature)).toBe('invalid');
  });

  it.each([
    ['missing', undefined, 'missing'],
    ['empty', '', 'missing'],
    ['without the sha256= prefix', 'deadbeef', 'invalid'],
    ['sha1', 'sha1=0123456789abcdef0123456789abcdef01234567', 'invalid'],
    ['too short', 'sha256=abcd', 'invalid'],
    ['not hex', `sha256=${'z'.repeat(64)}`, 'invalid'],
  ])('rejects a %s header', (_, header, verdict) => {
    expect(verifier.verify(Buffer.from('{}'), header)).toBe(verdict);
  });

  it('rejects a valid signature over a changed body', () => {
    const body = Buffer.from('{"a":1}');
    expect(verifier.verify(Buffer.from('{"a":2}'), hmac(body))).toBe('invalid');
  });

  it('needs at least one secret', () => {
    expect(() => new SignatureVerifier([])).toThrow();
  });
});
