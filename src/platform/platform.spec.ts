import { AppConfig } from './config/app-config';
import { retryDelay } from './queue/retry-delay';
import { DataCipher, DecryptionError } from './crypto/data-cipher';
import { classifyUnexpected, ClassifiedFailure } from './failure';
import { GroupCommit } from './database/group-commit';
import { uuidv7 } from './crypto/ids';

describe('DataCipher', () => {
  const cipher = new DataCipher(Buffer.alloc(32, 7));

  it('round-trips and never stores the plaintext', () => {
    const sealed = cipher.encrypt('patient text');
    expect(sealed.includes(Buffer.from('patient text'))).toBe(false);
    expect(cipher.decryptText(sealed)).toBe('patient text');
    expect(cipher.decryptJson(cipher.encryptJson({ a: 1 }))).toEqual({ a: 1 });
  });

  it('refuses tampered data and the wrong key', () => {
    const sealed = cipher.encrypt('x');
    sealed[sealed.length - 1] ^= 1;
    expect(() => cipher.decrypt(sealed)).toThrow(DecryptionError);
    expect(() => new DataCipher(Buffer.alloc(32, 8)).decrypt(cipher.encrypt('x'))).toThrow(DecryptionError);
  });

  it('fingerprints deterministically per key', () => {
    expect(cipher.fingerprint('a')).toBe(cipher.fingerprint('a'));
    expect(cipher.fingerprint('a')).not.toBe(new DataCipher(Buffer.alloc(32, 9)).fingerprint('a'));
  });
});

describe('GroupCommit', () => {
  it('writes a lone item at once and batches what arrives during a write', async () => {
    const batches: number[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const group = new GroupCommit<number, number>(
      async (items) => {
        batches.push(items);
        if (batches.length === 1) await gate;
        return items.map((item) => item * 2);
      },
      { maxBatchWeight: 100, maxInFlight: 1 },
    );
    const first = group.submit(1);
    await new Promise((resolve) => setImmediate(resolve));
    const rest = [2, 3, 4].map((n) => group.submit(n));
    release();
    expect(await Promise.all([first, ...rest])).toEqual([2, 4, 6, 8]);
    expect(batches).toEqual([[1], [2, 3, 4]]);
  });

  it('rejects every caller of a failed write', async () => {
    const group = new GroupCommit<number, number>(() => Promise.reject(new Error('down')), {
      maxBatchWeight: 10,
      maxInFlight: 1,
    });
    await expect(Promise.all([group.submit(1), group.submit(2)])).rejects.toThrow('down');
  });

  it('splits batches by weight', async () => {
    const sizes: number[] = [];
    const group = new GroupCommit<number, void>(
      async (items) => {
        sizes.push(items.reduce((a, b) => a + b, 0));
        return items.map(() => undefined);
      },
      { maxBatchWeight: 10, maxInFlight: 1, weight: (n) => n },
    );
    await Promise.all([6, 6, 6, 20].map((n) => group.submit(n)));
    expect(sizes).toEqual([6, 6, 6, 20]);
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
});
