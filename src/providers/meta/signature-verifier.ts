import { createHmac, timingSafeEqual } from 'node:crypto';

export type SignatureVerdict = 'valid' | 'missing' | 'invalid';

const HEADER_PATTERN = /^sha256=([0-9a-fA-F]{64})$/;

/**
 * Checks `X-Hub-Signature-256` against the raw request bytes under each configured app secret
 * (several during a secret rotation). Comparison is constant-time.
 */
export class SignatureVerifier {
  private readonly secrets: readonly Buffer[];

  constructor(secrets: readonly string[]) {
    if (secrets.length === 0) throw new Error('at least one app secret is required');
    this.secrets = secrets.map((secret) => Buffer.from(secret, 'utf8'));
  }

  verify(rawBody: Buffer, header: string | undefined): SignatureVerdict {
    if (header === undefined || header.trim() === '') return 'missing';
    const match = HEADER_PATTERN.exec(header.trim());
    if (!match) return 'invalid';
    const claimed = Buffer.from(match[1], 'hex');
    let valid = false;
    for (const secret of this.secrets) {
      const expected = createHmac('sha256', secret).update(rawBody).digest();
      // Check every secret so the time taken does not reveal which one matched.
      valid = timingSafeEqual(expected, claimed) || valid;
    }
    return valid ? 'valid' : 'invalid';
  }

  static sign(rawBody: Buffer | string, secret: string): string {
    return `sha256=${createHmac('sha256', secret).update(rawBody).digest('hex')}`;
  }
}
