import { AppConfig } from './config/app-config';
import { retryDelay } from './queue/retry-delay';
import { createCipheriv } from 'node:crypto';
import { DataCipher, DecryptionError, fingerprintKeyOf, sealedIn } from './crypto/data-cipher';
import { classifyUnexpected, ClassifiedFailure } from './failure';
import { uuidv7 } from './crypto/ids';

describe('DataCipher', () => {
  const cipher = new DataCipher(Buffer.alloc(32, 7));
  const here = sealedIn('messages.content', 'instagram:m1');

  it('round-trips and never stores the plaintext', () => {
    const sealed = cipher.encrypt('patient text', here);
    expect(sealed.includes(Buffer.from('patient text'))).toBe(false);
    expect(cipher.decryptText(sealed, here)).toBe('patient text');
    expect(cipher.decryptJson(cipher.encryptJson({ a: 1 }, here), here)).toEqual({ a: 1 });
  });

  it('refuses tampered data and the wrong key', () => {
    const sealed = cipher.encrypt('x', here);
    sealed[sealed.length - 1] ^= 1;
    expect(() => cipher.decrypt(sealed, here)).toThrow(DecryptionError);
    const other = new DataCipher({ keys: [{ id: 'k0', key: Buffer.alloc(32, 8) }], fingerprintKey: Buffer.alloc(32) });
    expect(() => other.decrypt(cipher.encrypt('x', here), here)).toThrow(DecryptionError);
  });

  it('binds a value to its row: moved to another, it does not open', () => {
    const sealed = cipher.encrypt('patient A', here);
    let failure: unknown;
    try {
      cipher.decrypt(sealed, sealedIn('messages.content', 'instagram:m2'));
    } catch (error) {
      failure = error;
    }
    expect(failure).toBeInstanceOf(DecryptionError);
    expect((failure as DecryptionError).failure).toBe('not_this_row');
    expect(() => cipher.decrypt(sealed, sealedIn('inbound_events.payload', 'instagram:m1'))).toThrow(DecryptionError);
  });

  it('names its key: the first of the ring seals, every one opens, a missing one is named', () => {
    const a = Buffer.alloc(32, 1);
    const b = Buffer.alloc(32, 2);
    const fingerprintKey = fingerprintKeyOf(a);
    const ringA = new DataCipher({ keys: [{ id: 'A', key: a }], fingerprintKey });
    const ringBA = new DataCipher({
      keys: [
        { id: 'B', key: b },
        { id: 'A', key: a },
      ],
      fingerprintKey,
    });
    const ringB = new DataCipher({ keys: [{ id: 'B', key: b }], fingerprintKey });
    const underA = ringA.encrypt('x', here);
    expect(DataCipher.keyIdOf(underA)).toBe('A');
    expect(ringBA.decryptText(underA, here)).toBe('x');
    const underB = ringBA.encrypt('y', here);
    expect(DataCipher.keyIdOf(underB)).toBe('B');
    expect(ringB.decryptText(underB, here)).toBe('y');
    expect(() => ringB.decrypt(underA, here)).toThrow('sealed under key "A"');
    expect(ringB.fingerprint('p')).toBe(ringA.fingerprint('p'));
  });

  it('opens values sealed before key ids (v1, unbound) with DATA_ENCRYPTION_KEY, k0 in a ring', () => {
    const old = Buffer.alloc(32, 7);
    const iv = Buffer.alloc(12, 3);
    const legacy = createCipheriv('aes-256-gcm', old, iv);
    const body = Buffer.concat([legacy.update('before rings'), legacy.final()]);
    const v1 = Buffer.concat([Buffer.of(1), iv, legacy.getAuthTag(), body]);
    expect(cipher.decryptText(v1, here)).toBe('before rings');
    const ring = new DataCipher({
      keys: [
        { id: 'k1', key: Buffer.alloc(32, 5) },
        { id: 'k0', key: old },
      ],
      fingerprintKey: fingerprintKeyOf(old),
    });
    expect(ring.decryptText(v1, sealedIn('webhook_receipts.body', 'anything'))).toBe('before rings');
    expect(DataCipher.keyIdOf(v1)).toBe('k0');
    // The fingerprints of an install that had only DATA_ENCRYPTION_KEY stay what they were.
    expect(ring.fingerprint('p')).toBe(cipher.fingerprint('p'));
  });

  it('fingerprints deterministically per key', () => {
    expect(cipher.fingerprint('a')).toBe(cipher.fingerprint('a'));
    expect(cipher.fingerprint('a')).not.toBe(new DataCipher(Buffer.alloc(32, 9)).fingerprint('a'));
  });
});

describe('retryDelay', () => {
  it('grows exponentially from the base, is capped, and jitters between 50 and 100 %', () => {
    expect(retryDelay(1, 2000, 60_000, undefined, () => 1)).toBe(2000);
    expect(retryDelay(2, 2000, 60_000, undefined, () => 1)).toBe(4000);
    expect(retryDelay(3, 2000, 60_000, undefined, () => 0)).toBe(4000);
    expect(retryDelay(20, 2000, 60_000, undefined, () => 1)).toBe(60_000);
  });

  it('honours Retry-After', () => {
    expect(retryDelay(1, 2000, 60_000, 7000)).toBe(7000);
  });
});

describe('classifyUnexpected', () => {
  it('never copies a driver message (it can quote stored values)', () => {
    const failure = classifyUnexpected(
      Object.assign(new Error('duplicate key value (text)=(secret)'), { code: '23505' }),
    );
    expect(failure.message).not.toContain('secret');
    expect(failure.category).toBe('unknown');
  });

  it('treats lost connections as network failures', () => {
    expect(classifyUnexpected(Object.assign(new Error('x'), { code: 'ECONNREFUSED' })).category).toBe('network');
    expect(classifyUnexpected(new Error('Connection terminated unexpectedly')).category).toBe('network');
  });

  it('passes classified failures through', () => {
    const failure = new ClassifiedFailure({ category: 'policy', summary: 's' });
    expect(classifyUnexpected(failure)).toBe(failure);
  });
});

describe('uuidv7', () => {
  it('is a version-7 UUID ordered by time', () => {
    const a = uuidv7(1000);
    const b = uuidv7(2000);
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a < b).toBe(true);
  });
});

describe('AppConfig', () => {
  it('names the offending variable', () => {
    expect(() => AppConfig.fromEnvironment({ PORT: 'eighty' })).toThrow(/PORT/);
    expect(() => AppConfig.fromEnvironment({ REDIS_URL: 'http://x' })).toThrow(/REDIS_URL/);
    expect(() => AppConfig.fromEnvironment({ DATA_ENCRYPTION_KEY: 'c2hvcnQ=' })).toThrow(/DATA_ENCRYPTION_KEY/);
  });

  it('requires secrets in production and never prints them', () => {
    expect(() => AppConfig.fromEnvironment({ NODE_ENV: 'production' })).toThrow(
      /META_APP_SECRETS: is required in production/,
    );
    try {
      AppConfig.fromEnvironment({ META_APP_SECRETS: 42 as unknown as string });
    } catch (error) {
      expect(String(error)).not.toContain('42');
    }
  });

  it('reads a Redis database suffix and several app secrets', () => {
    const config = AppConfig.fromEnvironment({
      REDIS_URL: 'redis://:pw@redis.internal:6380/3',
      META_APP_SECRETS: 'a, b',
    });
    expect(config.redis).toMatchObject({ host: 'redis.internal', port: 6380, db: 3, password: 'pw' });
    expect(config.metaAppSecrets).toEqual(['a', 'b']);
    expect(config.warnings.join(' ')).toMatch(/META_VERIFY_TOKEN/);
  });

  it('takes Redis Cluster nodes only with a {hash-tag} queue prefix, and says so naming the variable', () => {
    const config = AppConfig.fromEnvironment({
      REDIS_CLUSTER_NODES: '10.0.0.1:7000, 10.0.0.2:7001',
      QUEUE_PREFIX: '{switchboard}',
    });
    expect(config.redis.clusterNodes).toEqual([
      { host: '10.0.0.1', port: 7000 },
      { host: '10.0.0.2', port: 7001 },
    ]);
    expect(AppConfig.fromEnvironment({}).redis.clusterNodes).toBeNull();
    expect(() => AppConfig.fromEnvironment({ REDIS_CLUSTER_NODES: '10.0.0.1:7000' })).toThrow(
      /QUEUE_PREFIX: must start with a \{hash-tag\}/,
    );
    expect(() => AppConfig.fromEnvironment({ REDIS_CLUSTER_NODES: '10.0.0.1', QUEUE_PREFIX: '{s}' })).toThrow(
      /REDIS_CLUSTER_NODES: must be host:port/,
    );
  });
});
