import { isIP } from 'node:net';
import { BusinessHours, businessHoursProblem, timezoneProblem } from '../time/business-hours';
import { ConfigurationError, Environment, validateEnvironment } from './environment';
import { DataKey, fingerprintKeyOf, KEY_ID_PATTERN, Keyring, LEGACY_KEY_ID } from '../crypto/data-cipher';

/** Bearer credentials (bootstrap API keys, METRICS_TOKEN) shorter than this are refused at boot. */
export const MIN_BEARER_TOKEN_LENGTH = 32;
/** META_VERIFY_TOKEN only guards Meta's subscription handshake, but must not be guessable either. */
export const MIN_VERIFY_TOKEN_LENGTH = 16;

/** Fastify's `trustProxy`: off, every proxy, a hop count, or the proxies' addresses and CIDRs. */
export type TrustProxy = boolean | number | string[];

const DEVELOPMENT_ENCRYPTION_KEY = Buffer.alloc(32, 'switchboard-development-key-only').toString('base64');
const DEVELOPMENT_APP_SECRET = 'development-app-secret';
const DEVELOPMENT_VERIFY_TOKEN = 'development-verify-token';

export interface RedisConnectionSettings {
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
  tls?: Record<string, never>;
  /** Redis Cluster seed nodes (REDIS_CLUSTER_NODES); null: one Redis at host:port. */
  clusterNodes: { host: string; port: number }[] | null;
}

/** Typed, derived configuration. Built once at boot from the validated environment. */
export class AppConfig {
  readonly nodeEnv: Environment['NODE_ENV'];
  readonly port: number;
  readonly databaseUrl: string;
  readonly databasePoolSize: number;
  readonly redis: RedisConnectionSettings;
  readonly redisUrl: string;
  readonly queuePrefix: string;
  readonly metaAppSecrets: readonly string[];
  readonly metaVerifyToken: string;
  readonly instagram: { graphUrl: string; accessToken?: string; timeoutMs: number };
  readonly facebook: { graphUrl: string; pageAccessToken?: string; timeoutMs: number };
  readonly whatsapp: { graphUrl: string; accessToken?: string; timeoutMs: number };
  /**
   * The auto-reply: its text, the after-hours text (undefined: the same text; '': none after hours), the
   * cooldown, the opening hours (null: always open) and their time zone. An account's settings override them.
   */
  readonly autoReply: {
    text: string;
    afterHoursText: string | undefined;
    cooldownMinutes: number;
    timezone: string;
    businessHours: BusinessHours | null;
  };
  /** Minutes a staff message (a foreign echo, or POST /messages) silences the auto-reply in its conversation. */
  readonly handoffMinutes: number;
  /** Per-account credentials: how long before its expiry an account's token is refreshed. */
  readonly accounts: { refreshBeforeDays: number };
  readonly sendPacing: { ratePerSecond: number; burst: number; throttlePenaltyMs: number };
  /** The data keys (the first seals) and the fingerprint key. */
  readonly keyring: Keyring;
  readonly workers: { enabled: boolean; concurrency: number; healthPort?: number };
  readonly useQueue: boolean;
  readonly retry: { maxAttempts: number; baseDelayMs: number; maxDelayMs: number };
  readonly maxBodyBytes: number;
  /** Every route but the webhook's. */
  readonly adminMaxBodyBytes: number;
  readonly trustProxy: TrustProxy;
  readonly ingestMaxBatch: number;
  /** Bounds on webhooks waiting for or inside the ingest statement (count, and bytes they hold). */
  readonly ingestMaxPending: number;
  readonly ingestMaxPendingBytes: number;
  /** Request-path and maintenance statement timeouts (milliseconds). */
  readonly databaseStatementTimeoutMs: number;
  readonly databaseMaintenanceTimeoutMs: number;
  readonly httpRequestTimeoutMs: number;
  /** How often the relay looks for stored events that are not on the queue, and how old they must be. */
  readonly relayIntervalMs: number;
  readonly relayGraceMs: number;
  readonly shutdownTimeoutMs: number;
  readonly log: { level: Environment['LOG_LEVEL']; requests: boolean; file?: string };
  /** Keys from the environment, for a first start before any key is created with `npm run apikey`. */
  readonly bootstrapApiKeys: { staff: readonly string[]; ops: readonly string[]; publisher: readonly string[] };
  readonly deadLetters: { retentionDays: number; alertThreshold: number };
  readonly auditRetentionDays: number;
  /** Days before the retention job erases raw bodies/processed payloads and message text. */
  readonly retention: { rawDays: number; messageDays: number; outboundDays: number; operationDays: number };
  /** Queue backlog above which new events are stored without being enqueued (see docs/flood-protection.md). */
  readonly ingestBacklogLimit: number;
  /** OpenTelemetry traces (started before the app by src/telemetry.ts; validated here with the rest). */
  readonly tracing: { endpoint?: string; serviceName: string };
  /** Bearer token for GET /metrics; open when unset (in production only with `metricsPublic`). */
  readonly metricsToken?: string;
  readonly metricsPublic: boolean;
  readonly vipSenderIds: readonly string[];
  readonly outbound: {
    allowPrivateNetworks: boolean;
    /** Milliseconds before each attempt; its length is the number of attempts. */
    retryScheduleMs: readonly number[];
    breakerThreshold: number;
    timeoutMs: number;
    rotationGraceMs: number;
    workerConcurrency: number;
    endpointConcurrency: number;
  };
  /** Development fallbacks that were used; logged loudly at boot. */
  readonly warnings: readonly string[];

  constructor(env: Environment) {
    const warnings: string[] = [];
    const production = env.NODE_ENV === 'production';
    const required = (name: keyof Environment, value: string | undefined, fallback: string): string => {
      if (value && value.trim() !== '') return value.trim();
      if (production) throw new ConfigurationError(`Invalid configuration:\n  ${name}: is required in production`);
      warnings.push(`${name} is not set: using a fixed development value. Never run like this in production.`);
      return fallback;
    };

    this.nodeEnv = env.NODE_ENV;
    this.port = env.PORT;
    this.databaseUrl = env.DATABASE_URL;
    this.databasePoolSize = env.DATABASE_POOL_SIZE;
    this.redisUrl = env.REDIS_URL;
    this.redis = { ...parseRedisUrl(env.REDIS_URL), clusterNodes: parseClusterNodes(env.REDIS_CLUSTER_NODES) };
    this.queuePrefix = env.QUEUE_PREFIX;
    if (this.redis.clusterNodes && !/^\{[^{}]+\}/.test(this.queuePrefix)) {
      // Every key of ours (BullMQ's, pacing, rate limits, markers) must hash to one slot: scripts and
      // pipelines span several of them.
      throw new ConfigurationError(
        `Invalid configuration:\n  QUEUE_PREFIX: must start with a {hash-tag} (e.g. "{switchboard}") when REDIS_CLUSTER_NODES is set (got "${this.queuePrefix}")`,
      );
    }
    this.metaAppSecrets = required('META_APP_SECRETS', env.META_APP_SECRETS, DEVELOPMENT_APP_SECRET)
      .split(',')
      .map((secret) => secret.trim())
      .filter((secret) => secret.length > 0);
    this.metaVerifyToken = required('META_VERIFY_TOKEN', env.META_VERIFY_TOKEN, DEVELOPMENT_VERIFY_TOKEN);
    longEnough('META_VERIFY_TOKEN', [this.metaVerifyToken], MIN_VERIFY_TOKEN_LENGTH);
    this.instagram = {
      graphUrl: env.INSTAGRAM_GRAPH_URL.replace(/\/+$/, ''),
      accessToken: env.INSTAGRAM_ACCESS_TOKEN?.trim() || undefined,
      timeoutMs: env.INSTAGRAM_TIMEOUT_MS,
    };
    if (!this.instagram.accessToken) {
      warnings.push('INSTAGRAM_ACCESS_TOKEN is not set: auto-replies will fail with category "auth".');
    }
    this.facebook = {
      graphUrl: env.FACEBOOK_GRAPH_URL.replace(/\/+$/, ''),
      pageAccessToken: env.FACEBOOK_PAGE_ACCESS_TOKEN?.trim() || undefined,
      timeoutMs: env.INSTAGRAM_TIMEOUT_MS,
    };
    this.whatsapp = {
      graphUrl: env.WHATSAPP_GRAPH_URL.replace(/\/+$/, ''),
      accessToken: env.WHATSAPP_ACCESS_TOKEN?.trim() || undefined,
      timeoutMs: env.INSTAGRAM_TIMEOUT_MS,
    };
    this.autoReply = {
      text: env.AUTO_REPLY_TEXT,
      afterHoursText: env.AUTO_REPLY_AFTER_HOURS_TEXT,
      cooldownMinutes: env.AUTO_REPLY_COOLDOWN_MINUTES,
      timezone: parseTimezone(env.BUSINESS_TIMEZONE),
      businessHours: parseBusinessHours(env.BUSINESS_HOURS),
    };
    this.handoffMinutes = env.HANDOFF_MINUTES;
    this.accounts = { refreshBeforeDays: env.TOKEN_REFRESH_BEFORE_DAYS };
    this.sendPacing = {
      ratePerSecond: env.SEND_RATE_PER_SECOND,
      burst: env.SEND_BURST,
      throttlePenaltyMs: env.SEND_THROTTLE_PENALTY_SECONDS * 1000,
    };
    this.keyring = parseKeyring(env, () =>
      required('DATA_ENCRYPTION_KEY', env.DATA_ENCRYPTION_KEY, DEVELOPMENT_ENCRYPTION_KEY),
    );
    this.workers = {
      enabled: env.WORKERS_ENABLED,
      concurrency: env.WORKER_CONCURRENCY,
      healthPort: env.WORKER_HEALTH_PORT,
    };
    this.useQueue = env.USE_QUEUE;
    this.retry = {
      maxAttempts: env.MAX_ATTEMPTS,
      baseDelayMs: env.RETRY_BASE_DELAY_MS,
      maxDelayMs: env.RETRY_MAX_DELAY_MS,
    };
    this.maxBodyBytes = env.MAX_BODY_BYTES;
    this.adminMaxBodyBytes = env.ADMIN_MAX_BODY_BYTES;
    this.trustProxy = parseTrustProxy(env.TRUST_PROXY);
    this.ingestMaxBatch = env.INGEST_MAX_BATCH;
    this.ingestMaxPending = env.INGEST_MAX_PENDING;
    this.ingestMaxPendingBytes = env.INGEST_MAX_PENDING_BYTES;
    this.databaseStatementTimeoutMs = env.DATABASE_STATEMENT_TIMEOUT_MS;
    this.databaseMaintenanceTimeoutMs = env.DATABASE_MAINTENANCE_TIMEOUT_MS;
    this.httpRequestTimeoutMs = env.HTTP_REQUEST_TIMEOUT_MS;
    this.relayIntervalMs = env.RELAY_INTERVAL_MS;
    this.relayGraceMs = env.RELAY_GRACE_MS;
    this.shutdownTimeoutMs = env.SHUTDOWN_TIMEOUT_MS;
    this.log = { level: env.LOG_LEVEL, requests: env.LOG_REQUESTS, file: env.LOG_FILE?.trim() || undefined };
    const list = (value?: string) =>
      (value ?? '')
        .split(',')
        .map((key) => key.trim())
        .filter((key) => key.length > 0);
    this.bootstrapApiKeys = {
      staff: list(env.STAFF_API_KEYS),
      ops: list(env.OPS_API_KEYS),
      publisher: list(env.PUBLISHER_API_KEYS),
    };
    longEnough('STAFF_API_KEYS', this.bootstrapApiKeys.staff, MIN_BEARER_TOKEN_LENGTH);
    longEnough('OPS_API_KEYS', this.bootstrapApiKeys.ops, MIN_BEARER_TOKEN_LENGTH);
    longEnough('PUBLISHER_API_KEYS', this.bootstrapApiKeys.publisher, MIN_BEARER_TOKEN_LENGTH);
    this.deadLetters = { retentionDays: env.DLQ_RETENTION_DAYS, alertThreshold: env.DLQ_ALERT_THRESHOLD };
    this.auditRetentionDays = env.AUDIT_RETENTION_DAYS;
    this.retention = {
      rawDays: env.RAW_RETENTION_DAYS,
      messageDays: env.MESSAGE_RETENTION_DAYS,
      outboundDays: env.OUTBOUND_RETENTION_DAYS,
      operationDays: env.OPERATION_RETENTION_DAYS,
    };
    this.ingestBacklogLimit = env.INGEST_BACKLOG_LIMIT;
    this.metricsToken = env.METRICS_TOKEN?.trim() || undefined;
    if (this.metricsToken) longEnough('METRICS_TOKEN', [this.metricsToken], MIN_BEARER_TOKEN_LENGTH);
    this.metricsPublic = env.METRICS_PUBLIC;
    this.tracing = {
      endpoint: env.OTEL_EXPORTER_OTLP_ENDPOINT || undefined,
      serviceName: env.OTEL_SERVICE_NAME?.trim() || 'switchboard',
    };
    if (production && !this.metricsToken && !this.metricsPublic) {
      throw new ConfigurationError(
        'Invalid configuration:\n  METRICS_TOKEN: is required in production (or set METRICS_PUBLIC=true to serve /metrics without a token on purpose)',
      );
    }
    this.vipSenderIds = list(env.VIP_SENDER_IDS);
    this.outbound = {
      allowPrivateNetworks: env.OUTBOUND_ALLOW_PRIVATE_NETWORKS,
      retryScheduleMs: env.OUTBOUND_RETRY_SCHEDULE.split(',').map((seconds) => Math.round(Number(seconds) * 1000)),
      breakerThreshold: env.OUTBOUND_BREAKER_THRESHOLD,
      timeoutMs: env.OUTBOUND_TIMEOUT_MS,
      rotationGraceMs: env.OUTBOUND_ROTATION_GRACE_HOURS * 3600_000,
      workerConcurrency: env.OUTBOUND_WORKER_CONCURRENCY,
      endpointConcurrency: env.OUTBOUND_ENDPOINT_CONCURRENCY,
    };
    this.warnings = warnings;
  }

  static fromEnvironment(raw: Record<string, unknown> = process.env): AppConfig {
    return new AppConfig(validateEnvironment(raw));
  }
}

/** Names the variable and which value is short, never the value. */
function longEnough(name: string, values: readonly string[], min: number): void {
  values.forEach((value, index) => {
    if (value.length >= min) return;
    const which = values.length > 1 ? `value ${index + 1} of ${values.length}` : 'the value';
    throw new ConfigurationError(
      `Invalid configuration:\n  ${name}: ${which} is ${value.length} characters; at least ${min} are required (generate one with \`openssl rand -base64 32\`)`,
    );
  });
}

const PROXY_KEYWORDS = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** `false` (default), `true`, a hop count, or comma-separated addresses, CIDRs and proxy-addr's keywords. */
export function parseTrustProxy(value: string): TrustProxy {
  const normalised = value.trim().toLowerCase();
  if (normalised === '' || normalised === 'false') return false;
  if (normalised === 'true') return true;
  if (/^\d+$/.test(normalised)) return Number(normalised);
  const entries = normalised.split(',').map((entry) => entry.trim());
  for (const entry of entries) {
    const [address, prefix, extra] = entry.split('/');
    const family = isIP(address);
    const validPrefix =
      prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 6 ? 128 : 32));
    if (!PROXY_KEYWORDS.has(entry) && (family === 0 || !validPrefix || extra !== undefined)) {
      throw new ConfigurationError(
        `Invalid configuration:\n  TRUST_PROXY: must be true, false, a hop count, or comma-separated addresses/CIDRs (got ${JSON.stringify(entry)})`,
      );
    }
  }
  return entries;
}

function parseTimezone(value: string): string {
  const problem = timezoneProblem(value, 'BUSINESS_TIMEZONE');
  if (problem) throw new ConfigurationError(`Invalid configuration:\n  BUSINESS_TIMEZONE: ${problem}`);
  return value;
}

function parseBusinessHours(value: string | undefined): BusinessHours | null {
  if (value === undefined) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new ConfigurationError(
      'Invalid configuration:\n  BUSINESS_HOURS: must be JSON, e.g. {"mon":["09:00-13:00","14:00-18:00"]}',
    );
  }
  const problem = businessHoursProblem(parsed, 'BUSINESS_HOURS');
  if (problem) throw new ConfigurationError(`Invalid configuration:\n  BUSINESS_HOURS: ${problem}`);
  return parsed as BusinessHours;
}

function parseKey(name: string, value: string): Buffer {
  const key = Buffer.from(value, 'base64');
  if (key.length !== 32) {
    throw new ConfigurationError(
      `Invalid configuration:\n  ${name}: must be 32 bytes encoded as base64 (generate one with \`openssl rand -base64 32\`)`,
    );
  }
  return key;
}

function parseClusterNodes(value: string | undefined): { host: string; port: number }[] | null {
  if (!value) return null;
  return value.split(',').map((node) => {
    const [host, port] = node.trim().split(':');
    return { host, port: Number(port) };
  });
}

/**
 * DATA_ENCRYPTION_KEYS (`kid:key,…`), or DATA_ENCRYPTION_KEY alone as the one-key ring `k0`. Fingerprints
 * keep the key they had: DATA_FINGERPRINT_KEY, or the one derived from DATA_ENCRYPTION_KEY as before rings.
 */
function parseKeyring(env: Environment, singleKey: () => string): Keyring {
  const invalid = (name: string, why: string) => new ConfigurationError(`Invalid configuration:\n  ${name}: ${why}`);
  const fingerprintKey = env.DATA_FINGERPRINT_KEY?.trim()
    ? parseKey('DATA_FINGERPRINT_KEY', env.DATA_FINGERPRINT_KEY.trim())
    : undefined;
  const ring = env.DATA_ENCRYPTION_KEYS?.trim();
  if (!ring) {
    const key = parseKey('DATA_ENCRYPTION_KEY', singleKey());
    return { keys: [{ id: LEGACY_KEY_ID, key }], fingerprintKey: fingerprintKey ?? fingerprintKeyOf(key) };
  }
  if (env.DATA_ENCRYPTION_KEY?.trim()) {
    throw invalid(
      'DATA_ENCRYPTION_KEY',
      `set DATA_ENCRYPTION_KEYS or DATA_ENCRYPTION_KEY, not both (put this key in the ring as "${LEGACY_KEY_ID}:…")`,
    );
  }
  if (!fingerprintKey) {
    throw invalid(
      'DATA_FINGERPRINT_KEY',
      'is required with DATA_ENCRYPTION_KEYS (`npm run keys -- fingerprint-key` prints the one your install has; docs/keys.md)',
    );
  }
  const keys: DataKey[] = [];
  for (const entry of ring
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)) {
    const colon = entry.indexOf(':');
    const id = colon > 0 ? entry.slice(0, colon) : '';
    if (!KEY_ID_PATTERN.test(id)) {
      throw invalid('DATA_ENCRYPTION_KEYS', 'each entry is kid:base64key, kid of [A-Za-z0-9_-]{1,16}');
    }
    if (keys.some((key) => key.id === id)) throw invalid('DATA_ENCRYPTION_KEYS', `key id "${id}" appears twice`);
    keys.push({ id, key: parseKey(`DATA_ENCRYPTION_KEYS (key "${id}")`, entry.slice(colon + 1)) });
  }
  if (keys.length === 0) throw invalid('DATA_ENCRYPTION_KEYS', 'holds no key');
  return { keys, fingerprintKey };
}

function parseRedisUrl(value: string): Omit<RedisConnectionSettings, 'clusterNodes'> {
  const url = new URL(value);
  const db = url.pathname.length > 1 ? Number(url.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0) {
    throw new ConfigurationError(
      `Invalid configuration:\n  REDIS_URL: the database suffix must be a number (got "${url.pathname}")`,
    );
  }
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port ? Number(url.port) : 6379,
    db,
    username: url.username ? decodeURIComponent(url.username) : undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
    tls: url.protocol === 'rediss:' ? {} : undefined,
  };
}
