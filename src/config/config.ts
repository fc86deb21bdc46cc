/**
 * The API app's configuration: every variable it reads, validated once before Nest starts, into a typed
 * {@link AppConfig} — the common settings (common.config.ts), the worker's (worker.config.ts: the API runs a worker
 * in-process on the embedded engine) and the API's own (HTTP, auth, browser access, limits, webhooks). A bad value
 * stops the process with a message naming the variable. Nothing else reads `process.env`.
 */
import { z } from 'zod';
import { commonEnvShape, commonValues, type ConfigValues } from './common.config.js';
import { ConfigError, bool, int, loadOrExit, parseEnv, type RawEnv } from './env.js';
import { WorkerConfig, workerEnvShape, workerValues } from './worker.config.js';
import { quotaEnvShape, quotaValues, type QuotaSettings } from './quotas.config.js';
import { workerApiEnvShape, workerApiValues, type WorkerApiSettings } from './worker-api.config.js';

/** The default DS_TENANT_MAX_BYTES, as a share of the DS log's size (DS_MAX_BYTES). */
export const DEFAULT_DS_TENANT_SHARE = 1 / 8;

export { ConfigError, type RawEnv } from './env.js';

/** The API's own variables (never read by a worker). */
export const apiEnvShape = {
  PORT: int('PORT', 0, 65535, 3000),
  HOST: z.string().optional().default('0.0.0.0'),
  API_KEYS: z.string().optional(),
  HEARTBEAT_MS: int('HEARTBEAT_MS', 100, 3_600_000, 15_000),
  SSE_RETRY_MS: int('SSE_RETRY_MS', 100, 600_000, 2_000),
  SSE_MAX_BUFFER_BYTES: int('SSE_MAX_BUFFER_BYTES', 16_384, 1 << 30, 8 * 1024 * 1024),
  SSE_STALL_TIMEOUT_MS: int('SSE_STALL_TIMEOUT_MS', 0, 3_600_000, 60_000),
  MAX_BODY_BYTES: int('MAX_BODY_BYTES', 1024, 64 * 1024 * 1024, 1024 * 1024),
  EMBEDDED_WORKER: bool('EMBEDDED_WORKER', false),
  STREAM_TOKEN_SECRET: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return undefined;
      if (v.length < 32) {
        // never echo the secret itself
        ctx.addIssue({ code: 'custom', message: 'STREAM_TOKEN_SECRET must be at least 32 characters' });
        return z.NEVER;
      }
      return v;
    }),
  STREAM_TOKEN_TTL_S: int('STREAM_TOKEN_TTL_S', 1, 86_400, 300),
  CORS_ORIGINS: z
    .string()
    .optional()
    .transform((v, ctx): '*' | string[] | null => {
      if (v === undefined || v.trim() === '') return null;
      if (v.trim() === '*') return '*';
      const origins: string[] = [];
      for (const raw of v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)) {
        let u: URL | null = null;
        try {
          u = new URL(raw);
        } catch {
          /* reported below */
        }
        // an origin is scheme://host[:port], nothing more (a trailing slash is forgiven)
        if (!u || !/^https?:$/.test(u.protocol) || u.origin !== raw.replace(/\/$/, '')) {
          ctx.addIssue({
            code: 'custom',
            message: `CORS_ORIGINS entry "${raw}" must be an origin like https://app.example.com, or the whole value *`,
          });
          return z.NEVER;
        }
        origins.push(u.origin);
      }
      return origins.length ? origins : null;
    }),
  PLAYGROUND: bool('PLAYGROUND', true),
  METRICS_TOKEN: z
    .string()
    .optional()
    .refine((v) => v === undefined || v === '' || /^[\x21-\x7e]{16,256}$/.test(v), {
      message: 'METRICS_TOKEN must be 16 to 256 visible ASCII characters (no spaces)',
    }),
  RATE_LIMIT_CREATE_PER_MIN: int('RATE_LIMIT_CREATE_PER_MIN', 0, 1_000_000, 600),
  AUTH_FAIL_LIMIT: int('AUTH_FAIL_LIMIT', 0, 1_000_000, 20),
  AUTH_FAIL_WINDOW_S: int('AUTH_FAIL_WINDOW_S', 1, 86_400, 60),
  MAX_STREAMS_PER_TENANT: int('MAX_STREAMS_PER_TENANT', 0, 1_000_000, 1_000),
  SHARE_MAX_STREAMS: int('SHARE_MAX_STREAMS', 0, 1_000_000, 100),
  MAX_STREAMS: int('MAX_STREAMS', 0, 10_000_000, 10_000),
  SHUTDOWN_TIMEOUT_MS: int('SHUTDOWN_TIMEOUT_MS', 1_000, 600_000, 10_000),
  DS_LONG_POLL_MS: int('DS_LONG_POLL_MS', 100, 300_000, 20_000),
  DS_MAX_STREAMS: int('DS_MAX_STREAMS', 0, 100_000_000, 100_000),
  DS_CREATES_PER_MIN: int('DS_CREATES_PER_MIN', 0, 1_000_000, 6_000),
  DS_MAX_BODY_BYTES: int('DS_MAX_BODY_BYTES', 1024, 1_000_000, 512 * 1024),
  DS_TENANT_MAX_BYTES: z.string().optional(),
  HOT_CACHE_EVENTS: int('HOT_CACHE_EVENTS', 0, 10_000_000, 1_000),
  HOT_CACHE_JOB_BYTES: int('HOT_CACHE_JOB_BYTES', 1024, 1024 ** 3, 1024 * 1024),
  HOT_CACHE_BYTES: int('HOT_CACHE_BYTES', 0, 1024 ** 4, 64 * 1024 * 1024),
  HOT_CACHE_GRACE_MS: int('HOT_CACHE_GRACE_MS', 0, 3_600_000, 10_000),
  WEBHOOKS_ENABLED: bool('WEBHOOKS_ENABLED', true),
  WEBHOOK_ALLOW_PRIVATE: bool('WEBHOOK_ALLOW_PRIVATE', false),
  WEBHOOK_TIMEOUT_MS: int('WEBHOOK_TIMEOUT_MS', 100, 60_000, 10_000),
  WEBHOOK_RETRY_SCHEDULE: z
    .string()
    .optional()
    .transform((v, ctx) => {
      const raw = v === undefined || v.trim() === '' ? DEFAULT_WEBHOOK_RETRY_SCHEDULE : v;
      const out = parseDurations(raw);
      if (!out || out.length < 1 || out.length > 50) {
        ctx.addIssue({
          code: 'custom',
          message: `WEBHOOK_RETRY_SCHEDULE must be 1 to 50 comma-separated delays like 5s,5m,30m,2h (got "${v}")`,
        });
        return z.NEVER;
      }
      return out;
    }),
  WEBHOOK_MAX_PER_TENANT: int('WEBHOOK_MAX_PER_TENANT', 1, 10_000, 20),
  WEBHOOK_CONCURRENCY: int('WEBHOOK_CONCURRENCY', 1, 1_000, 16),
  WEBHOOK_POLL_MS: int('WEBHOOK_POLL_MS', 10, 60_000, 1_000),
  WEBHOOK_LEASE_MARGIN_MS: int('WEBHOOK_LEASE_MARGIN_MS', 100, 600_000, 30_000),
  WEBHOOK_RETENTION_S: int('WEBHOOK_RETENTION_S', 60, 365 * 86_400, 7 * 86_400),
};

const apiEnvSchema = z.object({
  ...commonEnvShape,
  ...workerEnvShape,
  ...apiEnvShape,
  ...quotaEnvShape,
  ...workerApiEnvShape,
});

/** Standard Webhooks' suggested schedule after the first try: 8 tries over about 28 hours. */
export const DEFAULT_WEBHOOK_RETRY_SCHEDULE = '5s,5m,30m,2h,5h,10h,10h';

/** `250ms,5s,5m,2h` → milliseconds; null when malformed. A bare number is milliseconds. */
export function parseDurations(raw: string): number[] | null {
  const unit: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
  const out: number[] = [];
  for (const part of raw.split(',').map((p) => p.trim())) {
    const m = /^(\d+)(ms|s|m|h)?$/.exec(part);
    if (!m) return null;
    const ms = Number(m[1]) * unit[m[2] ?? 'ms']!;
    if (!Number.isSafeInteger(ms) || ms > 7 * 86_400_000) return null;
    out.push(ms);
  }
  return out;
}

export interface Tenancy {
  /** sha256(key) hex → tenant. Empty when auth is off. */
  keys: Map<string, string>;
  authEnabled: boolean;
  /** Entries (1-based) whose key is shorter than {@link STRONG_KEY_CHARS}: refused in production, a warning otherwise. */
  weakKeyEntries: number[];
}

/** API keys must have at least this many characters when NODE_ENV=production. */
export const STRONG_KEY_CHARS = 32;

/** The API app's validated configuration, injected as a typed service: the worker's settings plus the API's own. */
export class AppConfig extends WorkerConfig {
  readonly port!: number;
  readonly host!: string;
  readonly tenancy!: Tenancy;
  readonly heartbeatMs!: number;
  readonly sseRetryMs!: number;
  readonly sseMaxBufferBytes!: number;
  /** A stream whose socket has not drained for this long is dropped (it resumes from its cursor); 0 ⇒ never. */
  readonly sseStallTimeoutMs!: number;
  readonly maxBodyBytes!: number;
  /** Run an agent worker inside the API process (always on the embedded engine). */
  readonly inProcessWorker!: boolean;
  /** HMAC secret of browser stream tokens; undefined ⇒ a random per-process secret (tokens work on this instance only). */
  readonly streamTokenSecret!: string | undefined;
  readonly streamTokenTtlS!: number;
  /** Origins allowed by CORS: a list, `*` (any), or null (no CORS headers at all). */
  readonly corsOrigins!: '*' | string[] | null;
  /** Serve the playground page at `/`. */
  readonly playground!: boolean;
  /** Bearer token required by GET /metrics; unset ⇒ /metrics is public, except in production (then it is off: 404). */
  readonly metricsToken!: string | undefined;
  /**
   * Requests with an invalid API key from one client address: after `limit` in `windowS` seconds the address gets
   * 429 until the window ends (per API process). `limit` 0 ⇒ off.
   */
  readonly authFailures!: { limit: number; windowS: number };
  /** Job creations per tenant per minute, per API process (token bucket; burst = the same number). 0 ⇒ off. */
  readonly rateLimitCreatePerMin!: number;
  /** Open SSE streams per tenant on one API process. 0 ⇒ no cap. */
  readonly maxStreamsPerTenant!: number;
  /** Open SSE streams on one API process. 0 ⇒ no cap. */
  readonly maxStreams!: number;
  /** Open SSE streams per share link on one API process (they do not count against the owner's cap). 0 ⇒ no cap. */
  readonly shareMaxStreams!: number;
  /** SIGTERM/SIGINT: the process exits within this, whatever is still running. */
  readonly shutdownTimeoutMs!: number;
  /**
   * Durable Streams (`/ds`): the longest long-poll wait (ms), streams per tenant, stream creations per tenant per
   * minute per API process (0 ⇒ off), the largest append body and the bytes of a tenant's streams (bytes).
   */
  readonly ds!: {
    longPollMs: number;
    maxStreams: number;
    createsPerMin: number;
    maxBodyBytes: number;
    tenantMaxBytes: number;
  };
  /**
   * Hot cache of recent events per live job in this API process (HOT_CACHE_*): events and estimated bytes per job,
   * estimated bytes over all jobs (LRU), and how long a job's window and live feed stay after its end or its last
   * client. Off (`events` 0) on the embedded engine unless HOT_CACHE_EVENTS is set: its log is memory already.
   */
  readonly hotCache!: { events: number; jobBytes: number; maxBytes: number; graceMs: number };
  /** Per-tenant quotas (see src/quotas and quotas.config.ts). */
  readonly quotas!: QuotaSettings;
  /** The HTTP worker protocol (`/v1/worker/*`, see worker-api.config.ts). */
  readonly workerApi!: WorkerApiSettings;
  /** Webhooks (see src/webhooks). */
  readonly webhooks!: {
    /** Off ⇒ no /v1/webhooks routes, no feed consumer, no dispatcher. */
    enabled: boolean;
    allowPrivate: boolean;
    timeoutMs: number;
    /** Delays before the 2nd, 3rd… try (ms); tries = 1 + its length. */
    retryScheduleMs: number[];
    maxPerTenant: number;
    concurrency: number;
    pollMs: number;
    /** A try claimed by a process that died is taken up by another after the timeout + this. */
    leaseMarginMs: number;
    retentionMs: number;
  };

  constructor(values: ConfigValues<AppConfig>) {
    super(values);
  }
}

function parseApiKeys(raw: string | undefined, hash: (key: string) => string, production: boolean): Tenancy {
  const keys = new Map<string, string>();
  const weakKeyEntries: number[] = [];
  if (raw === undefined || raw.trim() === '') return { keys, authEnabled: false, weakKeyEntries };
  for (const [i, entry] of raw.split(',').entries()) {
    const e = entry.trim();
    if (!e) continue;
    const at = e.indexOf(':');
    const tenant = at > 0 ? e.slice(0, at).trim() : '';
    const key = at > 0 ? e.slice(at + 1).trim() : '';
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(tenant) || key.length < 8) {
      // never echo the key itself
      throw new ConfigError(
        `API_KEYS entry #${i + 1} must be tenant:key with a tenant of [A-Za-z0-9_.-] and a key of at least 8 characters`,
      );
    }
    if (key.length < STRONG_KEY_CHARS) {
      if (production) {
        throw new ConfigError(
          `API_KEYS entry #${i + 1}: keys must be at least ${STRONG_KEY_CHARS} characters when NODE_ENV=production (e.g. openssl rand -hex 24)`,
        );
      }
      weakKeyEntries.push(i + 1);
    }
    const h = hash(key);
    if (keys.has(h) && keys.get(h) !== tenant)
      throw new ConfigError(`API_KEYS entry #${i + 1} reuses another tenant's key`);
    keys.set(h, tenant);
  }
  return { keys, authEnabled: keys.size > 0, weakKeyEntries };
}

/** Validates the API's environment (common + worker + API variables); throws {@link ConfigError} naming every bad one. */
export function loadConfig(env: RawEnv, hash: (key: string) => string): AppConfig {
  const v = parseEnv(apiEnvSchema, env);
  const tenancy = parseApiKeys(v.API_KEYS, hash, v.NODE_ENV === 'production');
  if (!tenancy.authEnabled && v.NODE_ENV === 'production') {
    throw new ConfigError('API_KEYS is required when NODE_ENV=production (refusing to start with authentication off)');
  }
  // below the DS log's own size, so that one tenant cannot fill it for all
  const dsTenant = int(
    'DS_TENANT_MAX_BYTES',
    1024,
    v.DS_MAX_BYTES - 1,
    Math.floor(v.DS_MAX_BYTES * DEFAULT_DS_TENANT_SHARE),
  ).safeParse(env.DS_TENANT_MAX_BYTES);
  if (!dsTenant.success)
    throw new ConfigError(
      `invalid configuration:\n  - DS_TENANT_MAX_BYTES: ${dsTenant.error.issues[0]?.message} (below DS_MAX_BYTES)`,
    );
  return new AppConfig({
    ...commonValues(v, env),
    ...workerValues(v),
    port: v.PORT,
    host: v.HOST,
    tenancy,
    heartbeatMs: v.HEARTBEAT_MS,
    sseRetryMs: v.SSE_RETRY_MS,
    sseMaxBufferBytes: v.SSE_MAX_BUFFER_BYTES,
    sseStallTimeoutMs: v.SSE_STALL_TIMEOUT_MS,
    maxBodyBytes: v.MAX_BODY_BYTES,
    inProcessWorker: !v.NATS_URL || v.EMBEDDED_WORKER,
    streamTokenSecret: v.STREAM_TOKEN_SECRET,
    streamTokenTtlS: v.STREAM_TOKEN_TTL_S,
    corsOrigins: v.CORS_ORIGINS,
    playground: v.PLAYGROUND,
    metricsToken: v.METRICS_TOKEN ? v.METRICS_TOKEN : undefined,
    rateLimitCreatePerMin: v.RATE_LIMIT_CREATE_PER_MIN,
    authFailures: { limit: v.AUTH_FAIL_LIMIT, windowS: v.AUTH_FAIL_WINDOW_S },
    maxStreamsPerTenant: v.MAX_STREAMS_PER_TENANT,
    maxStreams: v.MAX_STREAMS,
    shareMaxStreams: v.SHARE_MAX_STREAMS,
    shutdownTimeoutMs: v.SHUTDOWN_TIMEOUT_MS,
    quotas: quotaValues(v),
    workerApi: workerApiValues(v, hash, tenancy.keys),
    ds: {
      longPollMs: v.DS_LONG_POLL_MS,
      maxStreams: v.DS_MAX_STREAMS,
      createsPerMin: v.DS_CREATES_PER_MIN,
      maxBodyBytes: v.DS_MAX_BODY_BYTES,
      tenantMaxBytes: dsTenant.data,
    },
    hotCache: {
      events:
        env.HOT_CACHE_EVENTS === undefined || env.HOT_CACHE_EVENTS === ''
          ? v.NATS_URL
            ? v.HOT_CACHE_EVENTS
            : 0
          : v.HOT_CACHE_EVENTS,
      jobBytes: v.HOT_CACHE_JOB_BYTES,
      maxBytes: v.HOT_CACHE_BYTES,
      graceMs: v.HOT_CACHE_GRACE_MS,
    },
    webhooks: {
      enabled: v.WEBHOOKS_ENABLED,
      allowPrivate: v.WEBHOOK_ALLOW_PRIVATE,
      timeoutMs: v.WEBHOOK_TIMEOUT_MS,
      retryScheduleMs: v.WEBHOOK_RETRY_SCHEDULE,
      maxPerTenant: v.WEBHOOK_MAX_PER_TENANT,
      concurrency: v.WEBHOOK_CONCURRENCY,
      pollMs: v.WEBHOOK_POLL_MS,
      leaseMarginMs: v.WEBHOOK_LEASE_MARGIN_MS,
      retentionMs: v.WEBHOOK_RETENTION_S * 1000,
    },
  });
}

/** For the API's entry point: the validated config, or exit 1 with the message naming the bad variables. */
export function loadConfigOrExit(env: RawEnv, hash: (key: string) => string, program: string): AppConfig {
  return loadOrExit(() => loadConfig(env, hash), program);
}
