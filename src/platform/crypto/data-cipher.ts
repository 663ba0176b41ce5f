import { createCipheriv, createDecipheriv, createHmac } from 'node:crypto';
import { randomBytesPooled } from './random-pool';

const FORMAT_VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + IV_BYTES + TAG_BYTES;

export class DecryptionError extends Error {
  constructor() {
    super('stored data could not be decrypted (wrong DATA_ENCRYPTION_KEY or corrupted value)');
  }
}

/**
 * AES-256-GCM for data at rest: raw webhook bodies, event payloads and message text.
 * Layout: version (1) | iv (12) | auth tag (16) | ciphertext.
 */
export class DataCipher {
  private readonly fingerprintKey: Buffer;

  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error('DataCipher needs a 32-byte key');
    this.fingerprintKey = createHmac('sha256', key).update('switchboard:fingerprint').digest();
  }

  encrypt(plain: Buffer | string): Buffer {
    const iv = randomBytesPooled(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(plain), cipher.final()]);
    return Buffer.concat([Buffer.of(FORMAT_VERSION), iv, cipher.getAuthTag(), body]);
  }

  decrypt(sealed: Buffer): Buffer {
    if (sealed.length < HEADER_BYTES || sealed[0] !== FORMAT_VERSION) throw new DecryptionError();
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, sealed.subarray(1, 1 + IV_BYTES));
      decipher.setAuthTag(sealed.subarray(1 + IV_BYTES, HEADER_BYTES));
      return Buffer.concat([decipher.update(sealed.subarray(HEADER_BYTES)), decipher.final()]);
    } catch {
      throw new DecryptionError();
    }
  }

  encryptJson(value: unknown): Buffer {
    return this.encrypt(JSON.stringify(value));
  }

  decryptJson<T>(sealed: Buffer): T {
    return JSON.parse(this.decrypt(sealed).toString('utf8')) as T;
  }

  decryptText(sealed: Buffer): string {
    return this.decrypt(sealed).toString('utf8');
  }

  /** A keyed one-way fingerprint: comparable and indexable, but not reversible without the key. */
  fingerprint(value: string | Buffer): string {
    return createHmac('sha256', this.fingerprintKey).update(value).digest('base64url').slice(0, 32);
  }
}
