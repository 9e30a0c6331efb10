import { plainToInstance, Transform } from 'class-transformer';
import { IsIn, IsInt, IsNumber, IsOptional, IsString, Matches, Max, Min, MinLength, validateSync } from 'class-validator';

const toInt = ({ value }: { value: unknown }) =>
  value === undefined || value === '' ? undefined : /^-?\d+$/.test(String(value)) ? Number(value) : value;

const toNumber = ({ value }: { value: unknown }) =>
  value === undefined || value === '' ? undefined : /^\d+(\.\d+)?(e-?\d+)?$/i.test(String(value)) ? Number(value) : value;

/** The environment as API.md section 2 lists it, plus a few operational knobs documented in the README. */
export class EnvironmentSchema {
  @IsOptional() @IsIn(['development', 'production', 'test'])
  NODE_ENV?: string;

  @IsOptional() @Transform(toInt) @IsInt() @Min(0) @Max(65535)
  PORT?: number;

  @IsOptional() @IsString()
  DATABASE_URL?: string;

  @IsOptional() @IsString()
  DATABASE_LISTEN_URL?: string;

  @IsOptional() @IsString()
  DATA_DIR?: string;

  @IsOptional() @IsString()
  REDIS_URL?: string;

  @IsOptional() @IsString() @MinLength(16, { message: 'JWT_SECRET must be at least 16 characters' })
  JWT_SECRET?: string;

  @IsOptional() @Transform(toInt) @IsInt() @Min(60) @Max(30 * 24 * 3600)
  JWT_EXPIRES_IN?: number;

  @IsOptional() @IsString()
  ADMIN_EMAIL?: string;

  @IsOptional() @IsString() @MinLength(1)
  ADMIN_PASSWORD?: string;

  @IsOptional() @IsString()
  CUSTOMER_IDENTITY_SECRET?: string;

  @IsOptional() @Transform(toInt) @IsInt() @Min(0)
  MESSAGE_RATE_LIMIT?: number;

  @IsOptional() @Transform(toInt) @IsInt() @Min(0)
  HTTP_RATE_LIMIT?: number;

  @IsOptional() @Transform(toInt) @IsInt() @Min(1)
  PRESENCE_GRACE_SECONDS?: number;

  @IsOptional() @IsString()
  WEBHOOK_SECRET?: string;

  @IsOptional() @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL?: string;

  @IsOptional() @Transform(toInt) @IsInt() @Min(4) @Max(15)
  BCRYPT_ROUNDS?: number;

  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(200)
  DB_POOL_SIZE?: number;

  @IsOptional() @Transform(toInt) @IsInt() @Min(100)
  ALLOCATION_SWEEP_MS?: number;

  @IsOptional() @Transform(toInt) @IsInt() @Min(100) @Max(600_000)
  DB_TIMEOUT_MS?: number;

  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(10_000_000)
  MAX_PENDING_WRITES?: number;

  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(16)
  MESSAGE_WRITE_LANES?: number;

  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(1000)
  WEBHOOK_CONCURRENCY?: number;

  @IsOptional() @Matches(/^(\d{1,2}|[0-9a-fA-F.:/]+(\s*,\s*[0-9a-fA-F.:/]+)*|loopback|linklocal|uniquelocal)$/, {
    message: 'TRUST_PROXY must be a hop count or a comma-separated list of addresses/subnets',
  })
  TRUST_PROXY?: string;
  @IsOptional() @Transform(toNumber) @IsNumber() @Min(0.00001) @Max(1000)
  WEBHOOK_RETRY_SCALE?: number;

  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(3650)
  WEBHOOK_RETENTION_DAYS?: number;

  @IsOptional() @Transform(toInt) @IsInt() @Min(20) @Max(60000)
  WEBHOOK_POLL_MS?: number;

  @IsOptional() @IsIn(['true', 'false'])
  WEBHOOK_DISPATCH?: string;
}

export interface AppConfig {
  production: boolean;
  port: number;
  databaseUrl: string | null;
  /** Where the token-version cache LISTENs (a session connection: not through a transaction-mode pooler); defaults to databaseUrl. */
  databaseListenUrl: string | null;
  dataDir: string;
  redisUrl: string | null;
  jwtSecret: string;
  jwtExpiresIn: number;
  adminEmail: string | null;
  adminPassword: string | null;
  customerIdentitySecret: string | null;
  messageRateLimit: number;
  httpRateLimit: number;
  presenceGraceSeconds: number;
  webhookSecret: string | null;
  logLevel: string;
  bcryptRounds: number;
  dbPoolSize: number;
  allocationSweepMs: number;
  /** The longest a request waits for the database: a pooled connection, then a statement. */
  dbTimeoutMs: number;
  /** Messages an instance may hold waiting for the database before it answers 503 at once. */
  maxPendingWrites: number;
  /**
   * Message batches an instance may have in flight at once, never two with the same conversation
   * (MESSAGE_WRITE_LANES); the pool and the engine may allow fewer (see writeLanes in @cc/database).
   */
  messageWriteLanes: number;
  /** Allocation-webhook calls in flight per instance. */
  webhookConcurrency: number;
  /** Express `trust proxy`: false, a hop count, or a list of addresses. */
  trustProxy: false | number | string[];
  /** Factor on the event-webhook retry delays and on their 24-hour horizon (the 10 s timeout is not scaled). */
  webhookRetryScale: number;
  /** Delivered event-webhook deliveries older than this are pruned. */
  webhookRetentionDays: number;
  /** How often each instance looks for due event-webhook deliveries. */
  webhookPollMs: number;
  /**
   * Whether this instance claims and sends event-webhook deliveries (WEBHOOK_DISPATCH, default
   * true). Off, it still writes the outbox rows of its changes and leaves their delivery to the
   * instances that dispatch.
   */
  webhookDispatch: boolean;
}

export class ConfigError extends Error {}

/** Validates the environment once at boot; every bad variable is named in one message. */
export function loadConfig(env: Record<string, string | undefined>): AppConfig {
  const raw = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = plainToInstance(EnvironmentSchema, raw);
  const errors = validateSync(parsed, { whitelist: false });
  const problems = errors.map((e) => `${e.property}: ${Object.values(e.constraints ?? {}).join(', ')}`);
  const production = parsed.NODE_ENV === 'production';
  if (production) {
    if (!parsed.JWT_SECRET) problems.push('JWT_SECRET: required when NODE_ENV=production');
    if (!parsed.ADMIN_PASSWORD) problems.push('ADMIN_PASSWORD: required when NODE_ENV=production');
    if (!parsed.ADMIN_EMAIL) problems.push('ADMIN_EMAIL: required when NODE_ENV=production');
  }
  if (problems.length) throw new ConfigError(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
  return {
    production,
    port: parsed.PORT ?? 3000,
    databaseUrl: parsed.DATABASE_URL ?? null,
    databaseListenUrl: parsed.DATABASE_LISTEN_URL ?? parsed.DATABASE_URL ?? null,
    dataDir: parsed.DATA_DIR ?? './data',
    redisUrl: parsed.REDIS_URL ?? null,
    jwtSecret: parsed.JWT_SECRET ?? randomSecret(),
    jwtExpiresIn: parsed.JWT_EXPIRES_IN ?? 12 * 3600,
    adminEmail: parsed.ADMIN_EMAIL ?? (production ? null : 'admin@example.com'),
    adminPassword: parsed.ADMIN_PASSWORD ?? (production ? null : 'admin'),
    customerIdentitySecret: parsed.CUSTOMER_IDENTITY_SECRET ?? null,
    messageRateLimit: parsed.MESSAGE_RATE_LIMIT ?? 20,
    httpRateLimit: parsed.HTTP_RATE_LIMIT ?? 120,
    presenceGraceSeconds: parsed.PRESENCE_GRACE_SECONDS ?? 120,
    webhookSecret: parsed.WEBHOOK_SECRET ?? null,
    logLevel: parsed.LOG_LEVEL ?? 'info',
    bcryptRounds: parsed.BCRYPT_ROUNDS ?? 10,
    dbPoolSize: parsed.DB_POOL_SIZE ?? 10,
    allocationSweepMs: parsed.ALLOCATION_SWEEP_MS ?? 5000,
    dbTimeoutMs: parsed.DB_TIMEOUT_MS ?? 5000,
    maxPendingWrites: parsed.MAX_PENDING_WRITES ?? 10_000,
    messageWriteLanes: parsed.MESSAGE_WRITE_LANES ?? 1,
    webhookConcurrency: parsed.WEBHOOK_CONCURRENCY ?? 16,
    trustProxy: parseTrustProxy(parsed.TRUST_PROXY),
    webhookRetryScale: parsed.WEBHOOK_RETRY_SCALE ?? 1,
    webhookRetentionDays: parsed.WEBHOOK_RETENTION_DAYS ?? 7,
    webhookPollMs: parsed.WEBHOOK_POLL_MS ?? 250,
    webhookDispatch: parsed.WEBHOOK_DISPATCH !== 'false',
  };
}

function parseTrustProxy(value: string | undefined): false | number | string[] {
  if (value === undefined) return false;
  if (/^\d+$/.test(value)) return Number(value);
  return value.split(',').map((v) => v.trim()).filter(Boolean);
}

function randomSecret(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('crypto').randomBytes(32).toString('hex');
}

export const APP_CONFIG = Symbol('APP_CONFIG');
