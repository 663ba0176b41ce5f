import { createCipheriv, createDecipheriv, createHmac } from 'node:crypto';
import { randomBytesPooled } from './random-pool';
import { LEGACY_KEY_ID, RowBinding, SealedField } from './sealed-fields';

/** v1: version (1) | iv (12) | tag (16) | ciphertext, one key, no associated data. Still opened. */
const LEGACY_FORMAT = 1;
/** v2: version (1) | key id length (1) | key id | iv (12) | tag (16) | ciphertext, bound to its row. */
const KEYED_FORMAT = 2;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const LEGACY_HEADER_BYTES = 1 + IV_BYTES + TAG_BYTES;
export const KEY_ID_PATTERN = /^[A-Za-z0-9_-]{1,16}$/;

export type DecryptionFailure = 'unknown_key' | 'not_this_row' | 'malformed';

/**
 * A stored value that does not open. `not_this_row`: the key is there but the value fails authentication,
 * because it was moved from another row (or column), or altered. Never carries content.
 */
export class DecryptionError extends Error {
  constructor(
    readonly failure: DecryptionFailure = 'malformed',
    readonly keyId?: string,
  ) {
    super(
      failure === 'unknown_key'
        ? `stored data is sealed under key "${keyId}", which is not in DATA_ENCRYPTION_KEYS`
        : failure === 'not_this_row'
          ? 'stored data does not belong to this row (moved from another row, or altered)'
          : 'stored data could not be decrypted (not a sealed value, or corrupted)',
    );
  }
}

export interface DataKey {
  id: string;
  key: Buffer;
}

export interface Keyring {
  /** The first seals; every one opens. */
  keys: readonly DataKey[];
  /** HMAC key of fingerprints: independent of the data keys, so fingerprints survive a rotation. */
  fingerprintKey: Buffer;
}

/** The fingerprint key an install had before keyrings: derived from its one DATA_ENCRYPTION_KEY. */
export function fingerprintKeyOf(dataKey: Buffer): Buffer {
  return createHmac('sha256', dataKey).update('switchboard:fingerprint').digest();
}

/**
 * AES-256-GCM for data at rest: raw webhook bodies, event payloads, message text, endpoint secrets,
 * account tokens, subscribers' answers. Each value names the key that sealed it and is bound (associated
 * data) to its table, column and row id, so a value copied into another row does not open there.
 * IVs are random (96 bits): NIST SP 800-38D bounds that at 2^32 seals per key; rotating the primary key
 * (docs/keys.md) starts a new count.
 */
export class DataCipher {
  private readonly primary: { id: string; key: Buffer; header: Buffer };
  private readonly byId = new Map<string, Buffer>();
  /** The keys in the order a v1 value (no key id) is tried: the pre-keyring key first. */
  private readonly legacyOrder: Buffer[];
  private readonly fingerprintKey: Buffer;

  /** A 32-byte key alone is a one-key ring named `k0` (as `DATA_ENCRYPTION_KEY` is). */
  constructor(keyring: Keyring | Buffer) {
    const ring: Keyring = Buffer.isBuffer(keyring)
      ? { keys: [{ id: LEGACY_KEY_ID, key: keyring }], fingerprintKey: fingerprintKeyOf(keyring) }
      : keyring;
    if (ring.keys.length === 0) throw new Error('DataCipher needs at least one key');
    for (const { id, key } of ring.keys) {
      if (key.length !== 32) throw new Error('DataCipher needs 32-byte keys');
      if (!KEY_ID_PATTERN.test(id)) throw new Error('DataCipher key ids are [A-Za-z0-9_-]{1,16}');
      if (this.byId.has(id)) throw new Error(`DataCipher key id "${id}" appears twice`);
      this.byId.set(id, key);
    }
    const [first] = ring.keys;
    const kid = Buffer.from(first.id, 'latin1');
    this.primary = { id: first.id, key: first.key, header: Buffer.concat([Buffer.of(KEYED_FORMAT, kid.length), kid]) };
    const legacy = this.byId.get(LEGACY_KEY_ID);
    this.legacyOrder = [
      ...(legacy ? [legacy] : []),
      ...ring.keys.filter((k) => k.id !== LEGACY_KEY_ID).map((k) => k.key),
    ];
    this.fingerprintKey = ring.fingerprintKey;
  }

  get primaryKeyId(): string {
    return this.primary.id;
  }

  get keyIds(): string[] {
    return [...this.byId.keys()];
  }

  encrypt(plain: Buffer | string, binding: RowBinding): Buffer {
    const iv = randomBytesPooled(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.primary.key, iv);
    cipher.setAAD(associatedData(binding));
    const body = cipher.update(plain);
    const final = cipher.final();
    return Buffer.concat([this.primary.header, iv, cipher.getAuthTag(), body, final]);
  }

  /** Opens a value sealed for `binding` (a v1 value, from before binding, opens wherever it is). */
  decrypt(sealed: Buffer, binding: RowBinding): Buffer {
    if (sealed.length > 0 && sealed[0] === LEGACY_FORMAT) return this.openLegacy(sealed);
    if (sealed.length < 2 || sealed[0] !== KEYED_FORMAT) throw new DecryptionError('malformed');
    const start = 2 + sealed[1];
    if (sealed.length < start + IV_BYTES + TAG_BYTES) throw new DecryptionError('malformed');
    const keyId = sealed.toString('latin1', 2, start);
    const key = this.byId.get(keyId);
    if (!key) throw new DecryptionError('unknown_key', keyId);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(start, start + IV_BYTES));
      decipher.setAAD(associatedData(binding));
      decipher.setAuthTag(sealed.subarray(start + IV_BYTES, start + IV_BYTES + TAG_BYTES));
      return Buffer.concat([decipher.update(sealed.subarray(start + IV_BYTES + TAG_BYTES)), decipher.final()]);
    } catch {
      throw new DecryptionError('not_this_row');
    }
  }

  /** The key a stored value names (`k0` for a v1 value), without opening it. */
  static keyIdOf(sealed: Buffer): string | null {
    if (sealed.length > 0 && sealed[0] === LEGACY_FORMAT) return LEGACY_KEY_ID;
    if (sealed.length < 2 || sealed[0] !== KEYED_FORMAT) return null;
    return sealed.toString('latin1', 2, 2 + sealed[1]);
  }

  /** Whether a stored value is sealed under the primary key and bound (what re-encryption leaves alone). */
  isCurrent(sealed: Buffer): boolean {
    return sealed.subarray(0, this.primary.header.length).equals(this.primary.header);
  }

  /** The bytes every value sealed under the primary key starts with (re-encryption's SQL filter). */
  get primaryPrefix(): Buffer {
    return this.primary.header;
  }

  encryptJson(value: unknown, binding: RowBinding): Buffer {
    return this.encrypt(JSON.stringify(value), binding);
  }

  decryptJson<T>(sealed: Buffer, binding: RowBinding): T {
    return JSON.parse(this.decrypt(sealed, binding).toString('utf8')) as T;
  }

  decryptText(sealed: Buffer, binding: RowBinding): string {
    return this.decrypt(sealed, binding).toString('utf8');
  }

  /** A keyed one-way fingerprint: comparable and indexable, but not reversible without the key. */
  fingerprint(value: string | Buffer): string {
    return createHmac('sha256', this.fingerprintKey).update(value).digest('base64url').slice(0, 32);
  }

  private openLegacy(sealed: Buffer): Buffer {
    if (sealed.length < LEGACY_HEADER_BYTES) throw new DecryptionError('malformed');
    for (const key of this.legacyOrder) {
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(1, 1 + IV_BYTES));
        decipher.setAuthTag(sealed.subarray(1 + IV_BYTES, LEGACY_HEADER_BYTES));
        return Buffer.concat([decipher.update(sealed.subarray(LEGACY_HEADER_BYTES)), decipher.final()]);
      } catch {
        // the next key
      }
    }
    throw this.byId.has(LEGACY_KEY_ID)
      ? new DecryptionError('not_this_row')
      : new DecryptionError('unknown_key', LEGACY_KEY_ID);
  }
}

function associatedData({ field, rowId }: RowBinding): Buffer {
  return Buffer.from(`${field}\u0000${rowId}`, 'utf8');
}

export { attemptResponseIn, LEGACY_KEY_ID, messageContentIn, sealedIn } from './sealed-fields';
export type { RowBinding, SealedField };
