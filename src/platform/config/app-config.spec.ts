import { randomBytes } from 'node:crypto';
import { AppConfig, parseTrustProxy } from './app-config';

const PRODUCTION = {
  NODE_ENV: 'production',
  META_APP_SECRETS: 'app-secret',
  META_VERIFY_TOKEN: 'a-verify-token-of-some-length',
  DATA_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
};
const LONG_KEY = 'k'.repeat(32);

describe('AppConfig: /metrics in production', () => {
  it('refuses to boot without METRICS_TOKEN, naming it and METRICS_PUBLIC', () => {
    expect(() => AppConfig.fromEnvironment(PRODUCTION)).toThrow(
      /METRICS_TOKEN: is required in production.*METRICS_PUBLIC=true/,
    );
  });

  it('boots with a token, or open on purpose with METRICS_PUBLIC=true', () => {
    expect(AppConfig.fromEnvironment({ ...PRODUCTION, METRICS_TOKEN: LONG_KEY }).metricsToken).toBe(LONG_KEY);
    const open = AppConfig.fromEnvironment({ ...PRODUCTION, METRICS_PUBLIC: 'true' });
    expect(open).toMatchObject({ metricsToken: undefined, metricsPublic: true });
  });

  it('keeps development open without a token', () => {
    expect(AppConfig.fromEnvironment({}).metricsToken).toBeUndefined();
  });
});

describe('AppConfig: minimum lengths of keys and tokens', () => {
  it.each([
    [
      'OPS_API_KEYS',
      { OPS_API_KEYS: `${LONG_KEY},short-ops-key` },
      /OPS_API_KEYS: value 2 of 2 is 13 characters; at least 32/,
    ],
    [
      'STAFF_API_KEYS',
      { STAFF_API_KEYS: 'short-staff-key' },
      /STAFF_API_KEYS: the value is 15 characters; at least 32/,
    ],
    ['PUBLISHER_API_KEYS', { PUBLISHER_API_KEYS: 'pub' }, /PUBLISHER_API_KEYS: .* at least 32/],
    ['METRICS_TOKEN', { METRICS_TOKEN: 'metrics-secret' }, /METRICS_TOKEN: .* at least 32/],
    ['META_VERIFY_TOKEN', { META_VERIFY_TOKEN: 'verify' }, /META_VERIFY_TOKEN: .* at least 16/],
  ])('refuses a short %s, naming it but never the value', (_, env, message) => {
    expect(() => AppConfig.fromEnvironment(env)).toThrow(message);
    try {
      AppConfig.fromEnvironment(env);
    } catch (error) {
      for (const value of Object.values(env).flatMap((v) => v.split(','))) {
        expect(String(error)).not.toContain(value);
      }
    }
  });

  it('accepts keys and tokens at the minimum', () => {
    const config = AppConfig.fromEnvironment({
      OPS_API_KEYS: `${LONG_KEY}, ${'o'.repeat(40)}`,
      METRICS_TOKEN: LONG_KEY,
      META_VERIFY_TOKEN: 'v'.repeat(16),
    });
    expect(config.bootstrapApiKeys.ops).toHaveLength(2);
  });
});

describe('AppConfig: TRUST_PROXY and ADMIN_MAX_BODY_BYTES', () => {
  it('trusts no proxy and takes 1 MiB admin bodies by default', () => {
    expect(AppConfig.fromEnvironment({})).toMatchObject({ trustProxy: false, adminMaxBodyBytes: 1024 * 1024 });
  });

  it.each([
    ['false', false],
    ['TRUE', true],
    ['2', 2],
    ['10.0.0.1', ['10.0.0.1']],
    ['10.0.0.0/8, 192.168.1.0/24,::1, fd00::/8', ['10.0.0.0/8', '192.168.1.0/24', '::1', 'fd00::/8']],
    ['loopback,uniquelocal', ['loopback', 'uniquelocal']],
  ])('reads TRUST_PROXY=%s', (value, expected) => {
    expect(parseTrustProxy(value)).toEqual(expected);
    expect(AppConfig.fromEnvironment({ TRUST_PROXY: value }).trustProxy).toEqual(expected);
  });

  it.each(['yes please', '10.0.0.0/33', '::1/129', '10.0.0.1/8/8', 'proxy.internal', '-1'])(
    'refuses TRUST_PROXY=%s, naming it',
    (value) => {
      expect(() => AppConfig.fromEnvironment({ TRUST_PROXY: value })).toThrow(/TRUST_PROXY/);
    },
  );
});

describe('AppConfig: TOKEN_REFRESH_BEFORE_DAYS', () => {
  it('defaults to 10 days and takes another whole number of days', () => {
    expect(AppConfig.fromEnvironment({}).accounts.refreshBeforeDays).toBe(10);
    expect(AppConfig.fromEnvironment({ TOKEN_REFRESH_BEFORE_DAYS: '20' }).accounts.refreshBeforeDays).toBe(20);
  });

  it.each(['0', '60', 'ten', '1.5'])('refuses %p, naming the variable', (value) => {
    expect(() => AppConfig.fromEnvironment({ TOKEN_REFRESH_BEFORE_DAYS: value })).toThrow(/TOKEN_REFRESH_BEFORE_DAYS/);
  });
});

describe('AppConfig: tracing', () => {
  it('is off by default and on with OTEL_EXPORTER_OTLP_ENDPOINT', () => {
    expect(AppConfig.fromEnvironment({}).tracing).toEqual({ endpoint: undefined, serviceName: 'switchboard' });
    // As .env.example has it.
    expect(AppConfig.fromEnvironment({ OTEL_EXPORTER_OTLP_ENDPOINT: '', OTEL_SERVICE_NAME: '' }).tracing.endpoint).toBe(
      undefined,
    );
    expect(
      AppConfig.fromEnvironment({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SERVICE_NAME: 'sb-api' })
        .tracing,
    ).toEqual({ endpoint: 'http://collector:4318', serviceName: 'sb-api' });
  });

  it('refuses an endpoint that is not a URL, naming the variable', () => {
    expect(() => AppConfig.fromEnvironment({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector' })).toThrow(
      /OTEL_EXPORTER_OTLP_ENDPOINT/,
    );
  });
});

describe('AppConfig: the conversation policy', () => {
  it('reads the hours, their time zone, the after-hours text (empty: none) and HANDOFF_MINUTES', () => {
    const config = AppConfig.fromEnvironment({
      BUSINESS_TIMEZONE: 'Europe/Berlin',
      BUSINESS_HOURS: '{"mon":["09:00-13:00","14:00-18:00"]}',
      AUTO_REPLY_AFTER_HOURS_TEXT: '',
      HANDOFF_MINUTES: '30',
    });
    expect(config.autoReply).toMatchObject({
      timezone: 'Europe/Berlin',
      businessHours: { mon: ['09:00-13:00', '14:00-18:00'] },
      afterHoursText: '',
    });
    expect(config.handoffMinutes).toBe(30);
    expect(AppConfig.fromEnvironment({})).toMatchObject({
      handoffMinutes: 240,
      autoReply: { timezone: 'UTC', businessHours: null, afterHoursText: undefined },
    });
  });

  it.each([
    [{ BUSINESS_TIMEZONE: 'Mars/Olympus' }, /BUSINESS_TIMEZONE: BUSINESS_TIMEZONE is not a time zone/],
    [{ BUSINESS_HOURS: '{mon' }, /BUSINESS_HOURS: must be JSON/],
    [{ BUSINESS_HOURS: '{"mon":["18:00-09:00"]}' }, /BUSINESS_HOURS: BUSINESS_HOURS\.mon\[0\] must be/],
    [{ HANDOFF_MINUTES: '-1' }, /HANDOFF_MINUTES/],
  ])('fails at boot naming the variable: %j', (env, message) => {
    expect(() => AppConfig.fromEnvironment(env)).toThrow(message);
  });
});

describe('AppConfig: the data keyring', () => {
  const a = randomBytes(32).toString('base64');
  const b = randomBytes(32).toString('base64');
  const fp = randomBytes(32).toString('base64');

  it('makes DATA_ENCRYPTION_KEY alone the ring k0, its fingerprint key derived as before rings', () => {
    const { keyring } = AppConfig.fromEnvironment({ DATA_ENCRYPTION_KEY: a });
    expect(keyring.keys.map((key) => key.id)).toEqual(['k0']);
    expect(keyring.fingerprintKey).toHaveLength(32);
  });

  it('reads DATA_ENCRYPTION_KEYS in order, the first sealing', () => {
    const { keyring } = AppConfig.fromEnvironment({
      DATA_ENCRYPTION_KEYS: `k1:${b}, k0:${a}`,
      DATA_FINGERPRINT_KEY: fp,
    });
    expect(keyring.keys.map((key) => [key.id, key.key.toString('base64')])).toEqual([
      ['k1', b],
      ['k0', a],
    ]);
    expect(keyring.fingerprintKey.toString('base64')).toBe(fp);
  });

  it.each([
    [{ DATA_ENCRYPTION_KEYS: `k1:${b}` }, /DATA_FINGERPRINT_KEY: is required with DATA_ENCRYPTION_KEYS/],
    [{ DATA_ENCRYPTION_KEYS: `k1:${b}`, DATA_ENCRYPTION_KEY: a, DATA_FINGERPRINT_KEY: fp }, /not both/],
    [
      { DATA_ENCRYPTION_KEYS: `bad id!:${b}`, DATA_FINGERPRINT_KEY: fp },
      /DATA_ENCRYPTION_KEYS: each entry is kid:base64key/,
    ],
    [{ DATA_ENCRYPTION_KEYS: `k1:${b},k1:${a}`, DATA_FINGERPRINT_KEY: fp }, /key id "k1" appears twice/],
    [
      { DATA_ENCRYPTION_KEYS: 'k1:c2hvcnQ=', DATA_FINGERPRINT_KEY: fp },
      /DATA_ENCRYPTION_KEYS \(key "k1"\): must be 32 bytes/,
    ],
    [{ DATA_ENCRYPTION_KEYS: `k1:${b}`, DATA_FINGERPRINT_KEY: 'c2hvcnQ=' }, /DATA_FINGERPRINT_KEY: must be 32 bytes/],
  ])('refuses %p, naming the variable', (env, message) => {
    expect(() => AppConfig.fromEnvironment(env)).toThrow(message);
  });

  it('never prints a key in its message', () => {
    let message = '';
    try {
      AppConfig.fromEnvironment({ DATA_ENCRYPTION_KEYS: `k1:${b},k1:${b}`, DATA_FINGERPRINT_KEY: fp });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).not.toContain(b);
  });
});
