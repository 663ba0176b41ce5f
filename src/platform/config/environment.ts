import { plainToInstance, Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsOptional, IsString, IsUrl, Matches, Max, Min, validateSync } from 'class-validator';

const toBoolean = ({ value }: { value: unknown }) => {
  if (typeof value !== 'string') return value;
  const normalised = value.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(normalised)) return true;
  if (['false', '0', 'no', 'off', ''].includes(normalised)) return false;
  return value;
};
const toInt = ({ value }: { value: unknown }) =>
  typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value.trim()) : value;
const trimmed = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);
/** `NAME=` (as in .env.example) means unset. */
const emptyIsUnset = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() || undefined : value);

/** Every environment variable the processes read. Defaults are the development ones from CONTRACT.md. */
export class Environment {
  @IsIn(['development', 'production', 'test'])
  NODE_ENV: 'development' | 'production' | 'test' = 'development';

  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT = 3000;

  @Transform(trimmed)
  @Matches(/^postgres(ql)?:\/\/.+/, { message: 'must be a postgres:// URL' })
  DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/switchboard';

  @Transform(trimmed)
  @Matches(/^rediss?:\/\/.+/, { message: 'must be a redis:// or rediss:// URL' })
  REDIS_URL = 'redis://127.0.0.1:6379';

  /** `host:port,…` of Redis Cluster nodes (any few; the rest are discovered). Credentials and TLS: REDIS_URL's. */
  @IsOptional()
  @Transform(trimmed)
  @Matches(/^\s*[^\s,:]+:\d{1,5}\s*(,\s*[^\s,:]+:\d{1,5}\s*)*$/, { message: 'must be host:port,host:port,…' })
  REDIS_CLUSTER_NODES?: string;

  @Transform(trimmed)
  @Matches(/^[A-Za-z0-9_{}:.-]+$/, { message: 'may hold letters, digits and _ { } : . - only' })
  QUEUE_PREFIX = 'switchboard';

  @IsOptional()
  @IsString()
  META_APP_SECRETS?: string;

  @IsOptional()
  @IsString()
  META_VERIFY_TOKEN?: string;

  @Transform(trimmed)
  @IsUrl({ require_tld: false, protocols: ['http', 'https'], require_protocol: true })
  INSTAGRAM_GRAPH_URL = 'https://graph.instagram.com/v23.0';

  @IsOptional()
  @IsString()
  INSTAGRAM_ACCESS_TOKEN?: string;

  /** The Send API timeout, for every provider's client. */
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(120_000)
  INSTAGRAM_TIMEOUT_MS = 10_000;

  @Transform(trimmed)
  @IsUrl({ require_tld: false, protocols: ['http', 'https'], require_protocol: true })
  FACEBOOK_GRAPH_URL = 'https://graph.facebook.com/v23.0';

  @IsOptional()
  @IsString()
  FACEBOOK_PAGE_ACCESS_TOKEN?: string;

  @Transform(trimmed)
  @IsUrl({ require_tld: false, protocols: ['http', 'https'], require_protocol: true })
  WHATSAPP_GRAPH_URL = 'https://graph.facebook.com/v23.0';

  @IsOptional()
  @IsString()
  WHATSAPP_ACCESS_TOKEN?: string;

  /** Instagram account tokens with an expiry are refreshed this many days before it (daily, and on demand). */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(59)
  TOKEN_REFRESH_BEFORE_DAYS = 10;

  @IsString()
  AUTO_REPLY_TEXT = 'Thank you for your message. Our team will get back to you as soon as possible.';

  @Transform(toInt)
  @IsInt()
  @Min(0)
  AUTO_REPLY_COOLDOWN_MINUTES = 0;

  /** The auto-reply outside BUSINESS_HOURS. Unset: AUTO_REPLY_TEXT; set but empty: no reply after hours. */
  @IsOptional()
  @IsString()
  AUTO_REPLY_AFTER_HOURS_TEXT?: string;

  /** IANA time zone of BUSINESS_HOURS (an account's `timezone` overrides it). */
  @Transform(trimmed)
  @IsString()
  BUSINESS_TIMEZONE = 'UTC';

  /** JSON opening hours, e.g. {"mon":["09:00-13:00","14:00-18:00"]}; unset: always open. Checked in AppConfig. */
  @Transform(emptyIsUnset)
  @IsOptional()
  @IsString()
  BUSINESS_HOURS?: string;

  /** A staff message in a conversation (a foreign echo, or POST /messages) silences its auto-reply this long. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(525_600)
  HANDOFF_MINUTES = 240;

  /** Replies per second per provider account, across all workers (the Send API allows about 100). */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(10_000)
  SEND_RATE_PER_SECOND = 100;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(10_000)
  SEND_BURST = 10;

  /** After a Graph throttling error, the account's rate is halved for this long. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  SEND_THROTTLE_PENALTY_SECONDS = 60;

  @IsOptional()
  @IsString()
  DATA_ENCRYPTION_KEY?: string;

  /** `kid:base64key,…`: the first seals, every one opens (docs/keys.md). */
  @IsOptional()
  @IsString()
  DATA_ENCRYPTION_KEYS?: string;

  /** 32 bytes, base64: the HMAC key of fingerprints (default: derived from DATA_ENCRYPTION_KEY). */
  @IsOptional()
  @IsString()
  DATA_FINGERPRINT_KEY?: string;

  @Transform(toBoolean)
  @IsBoolean()
  WORKERS_ENABLED = true;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1000)
  WORKER_CONCURRENCY = 200;

  @Transform(toBoolean)
  @IsBoolean()
  USE_QUEUE = true;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(50)
  MAX_ATTEMPTS = 3;

  @Transform(toInt)
  @IsInt()
  @Min(0)
  RETRY_BASE_DELAY_MS = 2000;

  @Transform(toInt)
  @IsInt()
  @Min(0)
  RETRY_MAX_DELAY_MS = 600_000;

  @Transform(toInt)
  @IsInt()
  @Min(1024)
  MAX_BODY_BYTES = 10 * 1024 * 1024;

  /** Bodies of every route but the webhook's (admin, outbound API): larger requests get 413. */
  @Transform(toInt)
  @IsInt()
  @Min(1024)
  ADMIN_MAX_BODY_BYTES = 1024 * 1024;

  /** Which proxies' X-Forwarded-* headers to believe: false, true, a hop count, or addresses/CIDRs. */
  @Transform(trimmed)
  @IsString()
  TRUST_PROXY = 'false';

  @Transform(toInt)
  @IsInt()
  @Min(1000)
  SHUTDOWN_TIMEOUT_MS = 25_000;

  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent' = 'info';

  @Transform(toBoolean)
  @IsBoolean()
  LOG_REQUESTS = true;

  @IsOptional()
  @IsString()
  OPS_API_KEYS?: string;

  @IsOptional()
  @IsString()
  STAFF_API_KEYS?: string;

  @IsOptional()
  @IsString()
  PUBLISHER_API_KEYS?: string;

  /** Dead letters younger than this are never purged. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  DLQ_RETENTION_DAYS = 30;

  /** Pending dead letters at or above this count: a warning log line and the alert gauge. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  DLQ_ALERT_THRESHOLD = 100;

  /** How long audit entries are kept (applied by the retention job). */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  AUDIT_RETENTION_DAYS = 365;

  /** Raw webhook bodies, and processed events' payloads, are erased this many days after receipt/processing. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  RAW_RETENTION_DAYS = 7;

  /** Message text is erased this many days after it was sent. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  MESSAGE_RETENTION_DAYS = 90;

  /** Outbound events, their deliveries and attempts are deleted this many days after they were created. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  OUTBOUND_RETENTION_DAYS = 30;

  /** Finished durable operations (bulk replays, retries, recovers) are deleted this many days after they ended. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  OPERATION_RETENTION_DAYS = 30;

  /** Above this many waiting jobs, new events are stored but left for the relay (degraded mode). */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  INGEST_BACKLOG_LIMIT = 50_000;

  /** When set, GET /metrics needs `Authorization: Bearer <METRICS_TOKEN>`; required in production. */
  @IsOptional()
  @IsString()
  METRICS_TOKEN?: string;

  /** Production without METRICS_TOKEN: serve /metrics to anyone, on purpose. */
  @Transform(toBoolean)
  @IsBoolean()
  METRICS_PUBLIC = false;

  /** Comma-separated sender ids whose events are processed before everyone else's. */
  @IsOptional()
  @IsString()
  VIP_SENDER_IDS?: string;

  /** Write logs to this file instead of stdout. */
  @IsOptional()
  @IsString()
  LOG_FILE?: string;

  /** Set: traces go out over OTLP/HTTP to this collector (the exporter appends /v1/traces). */
  @Transform(emptyIsUnset)
  @IsOptional()
  @IsUrl({ require_tld: false, protocols: ['http', 'https'], require_protocol: true })
  OTEL_EXPORTER_OTLP_ENDPOINT?: string;

  /** The service name on every span. */
  @Transform(emptyIsUnset)
  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z0-9_.-]{1,100}$/, { message: 'may hold letters, digits and _ . - only (1 to 100)' })
  OTEL_SERVICE_NAME?: string;

  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(65535)
  @IsOptional()
  WORKER_HEALTH_PORT?: number;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(100)
  DATABASE_POOL_SIZE = 20;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(5000)
  INGEST_MAX_BATCH = 500;

  /** Receipts waiting for or inside the ingest statement hold at most this many bytes; beyond it: 503 at once. */
  @Transform(toInt)
  @IsInt()
  @Min(1024 * 1024)
  INGEST_MAX_PENDING_BYTES = 64 * 1024 * 1024;

  /** Webhooks waiting for or inside the ingest statement, at most; beyond it: 503 at once. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  INGEST_MAX_PENDING = 10_000;

  /** Request-path statements: Postgres cancels them after this, and the client gives up shortly after. */
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(600_000)
  DATABASE_STATEMENT_TIMEOUT_MS = 5000;

  /** The same for maintenance statements (retention, erasure), on their own connections. */
  @Transform(toInt)
  @IsInt()
  @Min(1000)
  @Max(86_400_000)
  DATABASE_MAINTENANCE_TIMEOUT_MS = 600_000;

  /** A request whose body has not fully arrived by then is answered 408 and closed. */
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(3_600_000)
  HTTP_REQUEST_TIMEOUT_MS = 30_000;

  @Transform(toInt)
  @IsInt()
  @Min(50)
  RELAY_INTERVAL_MS = 2000;

  @Transform(toInt)
  @IsInt()
  @Min(0)
  RELAY_GRACE_MS = 2000;

  /** Lets outbound deliveries reach private, loopback and link-local addresses (tests only). */
  @Transform(toBoolean)
  @IsBoolean()
  OUTBOUND_ALLOW_PRIVATE_NETWORKS = false;

  /** Seconds before each outbound delivery attempt (jitter added); its length is the number of attempts. */
  @Transform(trimmed)
  @Matches(/^\d+(\.\d+)?(\s*,\s*\d+(\.\d+)?)*$/, { message: 'must be comma-separated seconds, e.g. 0,5,300' })
  OUTBOUND_RETRY_SCHEDULE = '0,5,300,1800,7200,18000,36000,36000';

  @Transform(toInt)
  @IsInt()
  @Min(1)
  OUTBOUND_BREAKER_THRESHOLD = 10;

  @Transform(toInt)
  @IsInt()
  @Min(50)
  @Max(120_000)
  OUTBOUND_TIMEOUT_MS = 15_000;

  /** How long a rotated-out endpoint secret keeps signing next to the new one. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  OUTBOUND_ROTATION_GRACE_HOURS = 24;

  /** Outbound deliveries in flight per worker process. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1000)
  OUTBOUND_WORKER_CONCURRENCY = 200;

  /** Default cap on deliveries in flight to one endpoint, per worker process. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1000)
  OUTBOUND_ENDPOINT_CONCURRENCY = 10;
}

export class ConfigurationError extends Error {}

const SECRET_VARIABLES = new Set([
  'META_APP_SECRETS',
  'META_VERIFY_TOKEN',
  'INSTAGRAM_ACCESS_TOKEN',
  'FACEBOOK_PAGE_ACCESS_TOKEN',
  'WHATSAPP_ACCESS_TOKEN',
  'DATA_ENCRYPTION_KEY',
  'DATA_ENCRYPTION_KEYS',
  'DATA_FINGERPRINT_KEY',
  'DATABASE_URL',
  'REDIS_URL',
  'METRICS_TOKEN',
  'OPS_API_KEYS',
  'STAFF_API_KEYS',
  'PUBLISHER_API_KEYS',
]);

/** Variables whose empty value means something (AUTO_REPLY_AFTER_HOURS_TEXT= : no reply after hours). */
const EMPTY_IS_A_VALUE = new Set(['AUTO_REPLY_AFTER_HOURS_TEXT']);

/** Validates the environment; the message names every offending variable. */
export function validateEnvironment(raw: Record<string, unknown>): Environment {
  // `NAME=` (as in a copied .env.example) means "not set": the default applies.
  const given = Object.fromEntries(
    Object.entries(raw).filter(([name, value]) => value !== '' || EMPTY_IS_A_VALUE.has(name)),
  );
  const env = plainToInstance(Environment, given, { exposeDefaultValues: true, excludeExtraneousValues: false });
  const errors = validateSync(env, { skipMissingProperties: false, forbidUnknownValues: false });
  if (errors.length > 0) {
    const lines = errors.map((error) => {
      const reasons = Object.values(error.constraints ?? {}).join('; ');
      const shown = SECRET_VARIABLES.has(error.property) ? '<redacted>' : JSON.stringify(error.value);
      return `  ${error.property}: ${reasons} (got ${shown})`;
    });
    throw new ConfigurationError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return env;
}
