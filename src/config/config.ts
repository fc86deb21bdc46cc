/**
 * Configuration: every environment variable validated once, before Nest starts, into a typed {@link AppConfig}.
 * A bad value stops the process with a message naming the variable. Nothing else reads `process.env`.
 */
import { z } from 'zod';
import { LOG_FORMATS, type LogFormat, type LogFormatSetting } from '../logging/log-format.js';

const int = (name: string, min: number, max: number, def: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return def;
      const n = Number(v);
      if (!Number.isInteger(n) || n < min || n > max) {
        ctx.addIssue({ code: 'custom', message: `${name} must be an integer from ${min} to ${max}, got "${v}"` });
        return z.NEVER;
      }
      return n;
    });

const bool = (name: string, def: boolean) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return def;
      if (/^(1|true|yes|on)$/i.test(v)) return true;
      if (/^(0|false|no|off)$/i.test(v)) return false;
      ctx.addIssue({ code: 'custom', message: `${name} must be true or false, got "${v}"` });
      return z.NEVER;
    });

const url = (name: string, schemes: string[]) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return undefined;
      const parts = v.split(',').map((s) => s.trim()).filter(Boolean);
      for (const p of parts) {
        const withScheme = /^[a-z]+:\/\//i.test(p) ? p : `${schemes[0]}://${p}`;
        let u: URL;
        try {
          u = new URL(withScheme);
        } catch {
          ctx.addIssue({ code: 'custom', message: `${name} has a malformed URL` });
          return z.NEVER;
        }
        if (!schemes.includes(u.protocol.replace(':', ''))) {
          ctx.addIssue({ code: 'custom', message: `${name} must use ${schemes.join(' or ')}://` });
          return z.NEVER;
        }
      }
      return parts.join(',');
    });

const envSchema = z.object({
  NODE_ENV: z.string().optional().default('development'),
  PORT: int('PORT', 0, 65535, 3000),
  HOST: z.string().optional().default('0.0.0.0'),
  NATS_URL: url('NATS_URL', ['nats', 'tls', 'ws', 'wss']),
  REDIS_URL: url('REDIS_URL', ['redis', 'rediss']),
  REDIS_SENTINELS: z
    .string()
    .optional()
    .transform((v, ctx): { host: string; port: number }[] | undefined => {
      if (v === undefined || v.trim() === '') return undefined;
      const out: { host: string; port: number }[] = [];
      for (const raw of v.split(',').map((s) => s.trim()).filter(Boolean)) {
        const m = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(raw);
        const port = m ? Number(m[2]) : NaN;
        if (!m || port < 1 || port > 65535) {
          ctx.addIssue({ code: 'custom', message: `REDIS_SENTINELS entry "${raw}" must be host:port (e.g. 10.0.0.5:26379)` });
          return z.NEVER;
        }
        out.push({ host: m[1]!.replace(/^\[|\]$/g, ''), port });
      }
      if (out.length === 0) {
        ctx.addIssue({ code: 'custom', message: 'REDIS_SENTINELS must list at least one host:port' });
        return z.NEVER;
      }
      return out;
    }),
  REDIS_SENTINEL_NAME: z
    .string()
    .optional()
    .refine((v) => v === undefined || v === '' || /^[A-Za-z0-9._-]{1,128}$/.test(v), {
      message: 'REDIS_SENTINEL_NAME must be 1 to 128 characters of [A-Za-z0-9._-] (the master name Sentinel monitors)',
    }),
  JETSTREAM_REPLICAS: int('JETSTREAM_REPLICAS', 1, 5, 1),
  API_KEYS: z.string().optional(),
  HEARTBEAT_MS: int('HEARTBEAT_MS', 100, 3_600_000, 15_000),
  EVENT_RETENTION_S: int('EVENT_RETENTION_S', 1, 365 * 86_400, 86_400),
  JOB_RETENTION_S: z.string().optional(),
  IDEMPOTENCY_TTL_S: int('IDEMPOTENCY_TTL_S', 1, 30 * 86_400, 86_400),
  SSE_RETRY_MS: int('SSE_RETRY_MS', 100, 600_000, 2_000),
  SSE_MAX_BUFFER_BYTES: int('SSE_MAX_BUFFER_BYTES', 16_384, 1 << 30, 8 * 1024 * 1024),
  MAX_BODY_BYTES: int('MAX_BODY_BYTES', 1024, 64 * 1024 * 1024, 1024 * 1024),
  WORKER_CONCURRENCY: int('WORKER_CONCURRENCY', 1, 10_000, 16),
  MAX_ATTEMPTS: int('MAX_ATTEMPTS', 1, 100, 3),
  JOB_STALL_TIMEOUT_MS: int('JOB_STALL_TIMEOUT_MS', 1_000, 86_400_000, 60_000),
  EMBEDDED_WORKER: bool('EMBEDDED_WORKER', false),
  WORKER_SHUTDOWN_GRACE_MS: int('WORKER_SHUTDOWN_GRACE_MS', 0, 600_000, 5_000),
  OPENAI_BASE_URL: url('OPENAI_BASE_URL', ['https', 'http']),
  OPENAI_API_KEY: z.string().optional(),
  OPENAI_MODEL: z.string().optional(),
  OPENAI_TIMEOUT_MS: int('OPENAI_TIMEOUT_MS', 1_000, 3_600_000, 300_000),
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
      for (const raw of v.split(',').map((s) => s.trim()).filter(Boolean)) {
        let u: URL | null = null;
        try {
          u = new URL(raw);
        } catch {
          /* reported below */
        }
        // an origin is scheme://host[:port], nothing more (a trailing slash is forgiven)
        if (!u || !/^https?:$/.test(u.protocol) || u.origin !== raw.replace(/\/$/, '')) {
          ctx.addIssue({ code: 'custom', message: `CORS_ORIGINS entry "${raw}" must be an origin like https://app.example.com, or the whole value *` });
          return z.NEVER;
        }
        origins.push(u.origin);
      }
      return origins.length ? origins : null;
    }),
  PLAYGROUND: bool('PLAYGROUND', true),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional().default('info'),
  LOG_FORMAT: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return undefined;
      const f = v.trim().toLowerCase();
      if ((LOG_FORMATS as readonly string[]).includes(f)) return f as LogFormat;
      ctx.addIssue({ code: 'custom', message: `LOG_FORMAT must be pretty or json (unset: pretty on a terminal, JSON otherwise), got "${v}"` });
      return z.NEVER;
    }),
  // set by CI systems: no pretty logs there unless LOG_FORMAT asks
  CI: z.string().optional(),
  // operability: metrics, limits, shutdown
  METRICS_TOKEN: z
    .string()
    .optional()
    .refine((v) => v === undefined || v === '' || /^[\x21-\x7e]{16,256}$/.test(v), {
      message: 'METRICS_TOKEN must be 16 to 256 visible ASCII characters (no spaces)',
    }),
  RATE_LIMIT_CREATE_PER_MIN: int('RATE_LIMIT_CREATE_PER_MIN', 0, 1_000_000, 600),
  MAX_STREAMS_PER_TENANT: int('MAX_STREAMS_PER_TENANT', 0, 1_000_000, 1_000),
  MAX_STREAMS: int('MAX_STREAMS', 0, 10_000_000, 10_000),
  SHUTDOWN_TIMEOUT_MS: int('SHUTDOWN_TIMEOUT_MS', 1_000, 600_000, 10_000),
  // memory budget of the embedded engine's event log, and the per-job event cap (both engines)
  EMBEDDED_MAX_EVENTS: int('EMBEDDED_MAX_EVENTS', 100, 1_000_000_000, 1_500_000),
  EMBEDDED_MAX_BYTES: int('EMBEDDED_MAX_BYTES', 1024 * 1024, 1024 ** 4, 512 * 1024 * 1024),
  MAX_EVENTS_PER_JOB: int('MAX_EVENTS_PER_JOB', 10, 1_000_000_000, 1_100_000),
  // hot cache of recent events per live job (API processes): per job, overall, and the grace after the end
  HOT_CACHE_EVENTS: int('HOT_CACHE_EVENTS', 0, 10_000_000, 1_000),
  HOT_CACHE_JOB_BYTES: int('HOT_CACHE_JOB_BYTES', 1024, 1024 ** 3, 1024 * 1024),
  HOT_CACHE_BYTES: int('HOT_CACHE_BYTES', 0, 1024 ** 4, 64 * 1024 * 1024),
  HOT_CACHE_GRACE_MS: int('HOT_CACHE_GRACE_MS', 0, 3_600_000, 10_000),
  // v1.1 interactive jobs
  INPUT_TIMEOUT_S: int('INPUT_TIMEOUT_S', 1, 365 * 86_400, 86_400),
  // webhooks (v1.1)
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
        ctx.addIssue({ code: 'custom', message: `WEBHOOK_RETRY_SCHEDULE must be 1 to 50 comma-separated delays like 5s,5m,30m,2h (got "${v}")` });
        return z.NEVER;
      }
      return out;
    }),
  WEBHOOK_MAX_PER_TENANT: int('WEBHOOK_MAX_PER_TENANT', 1, 10_000, 20),
  WEBHOOK_CONCURRENCY: int('WEBHOOK_CONCURRENCY', 1, 1_000, 16),
  WEBHOOK_POLL_MS: int('WEBHOOK_POLL_MS', 10, 60_000, 1_000),
  WEBHOOK_LEASE_MARGIN_MS: int('WEBHOOK_LEASE_MARGIN_MS', 100, 600_000, 30_000),
  WEBHOOK_RETENTION_S: int('WEBHOOK_RETENTION_S', 60, 365 * 86_400, 7 * 86_400),
  // tracing: the standard OTEL_* variables (read by the OpenTelemetry SDK itself); here only whether it is on
  OTEL_SDK_DISABLED: bool('OTEL_SDK_DISABLED', false),
  OTEL_TRACES_EXPORTER: z.string().optional(),
  OTEL_EXPORTER_OTLP_ENDPOINT: url('OTEL_EXPORTER_OTLP_ENDPOINT', ['http', 'https']),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: url('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', ['http', 'https']),
  OTEL_SERVICE_NAME: z.string().optional(),
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

export type RawEnv = Record<string, string | undefined>;

export interface Tenancy {
  /** sha256(key) hex → tenant. Empty when auth is off. */
  keys: Map<string, string>;
  authEnabled: boolean;
}

/** The validated configuration, injected as a typed service. */
export class AppConfig {
  readonly env!: string;
  readonly port!: number;
  readonly host!: string;
  readonly natsUrl!: string | undefined;
  readonly redisUrl!: string | undefined;
  /** Redis Sentinel discovery: the sentinels and the master name they monitor (REDIS_URL then only gives credentials / db). */
  readonly redisSentinel!: { sentinels: { host: string; port: number }[]; name: string } | undefined;
  /** Replicas of the JetStream streams (1–5); existing streams are reconciled to it at start. */
  readonly jetstreamReplicas!: number;
  readonly tenancy!: Tenancy;
  readonly heartbeatMs!: number;
  readonly eventRetentionMs!: number;
  readonly jobRetentionMs!: number;
  readonly idempotencyTtlMs!: number;
  readonly sseRetryMs!: number;
  readonly sseMaxBufferBytes!: number;
  readonly maxBodyBytes!: number;
  readonly workerConcurrency!: number;
  readonly maxAttempts!: number;
  readonly jobStallTimeoutMs!: number;
  /** On SIGTERM, how long a worker lets its running jobs finish before handing the rest back to the queue. */
  readonly workerShutdownGraceMs!: number;
  /** Run an agent worker inside the API process (always on the embedded engine). */
  readonly inProcessWorker!: boolean;
  readonly logLevel!: string;
  /** LOG_FORMAT, or `auto` when unset (pretty on a terminal, see logging/log-format.ts); `json` when unset under CI. */
  readonly logFormat!: LogFormatSetting;
  /** The `openai` agent's provider (OpenAI-compatible chat completions); the agent is off without a base URL. */
  readonly openai!: { baseUrl: string | undefined; apiKey: string | undefined; model: string | undefined; timeoutMs: number };
  /** HMAC secret of browser stream tokens; undefined ⇒ a random per-process secret (tokens work on this instance only). */
  readonly streamTokenSecret!: string | undefined;
  readonly streamTokenTtlS!: number;
  /** Origins allowed by CORS: a list, `*` (any), or null (no CORS headers at all). */
  readonly corsOrigins!: '*' | string[] | null;
  /** Serve the playground page at `/`. */
  readonly playground!: boolean;
  /** Bearer token required by GET /metrics; unset ⇒ /metrics is public. */
  readonly metricsToken!: string | undefined;
  /** Job creations per tenant per minute, per API process (token bucket; burst = the same number). 0 ⇒ off. */
  readonly rateLimitCreatePerMin!: number;
  /** Open SSE streams per tenant on one API process. 0 ⇒ no cap. */
  readonly maxStreamsPerTenant!: number;
  /** Open SSE streams on one API process. 0 ⇒ no cap. */
  readonly maxStreams!: number;
  /** SIGTERM/SIGINT: the process exits within this, whatever is still running. */
  readonly shutdownTimeoutMs!: number;
  /**
   * Memory budget of the embedded engine's event log (events, and bytes as estimated): the oldest finished jobs are
   * evicted past it; new jobs are refused (503) when running jobs alone hold 90 % of it.
   */
  readonly embeddedMaxEvents!: number;
  readonly embeddedMaxBytes!: number;
  /** A job reaching this many events ends with `error` `too_many_events` (both engines). */
  readonly maxEventsPerJob!: number;
  /**
   * Hot cache of recent events per live job in this API process (HOT_CACHE_*): events and estimated bytes per job,
   * estimated bytes over all jobs (LRU), and how long a job's window and live feed stay after its end or its last
   * client. Off (`events` 0) on the embedded engine unless HOT_CACHE_EVENTS is set: its log is memory already.
   */
  readonly hotCache!: { events: number; jobBytes: number; maxBytes: number; graceMs: number };
  /** How long a job's question waits for an answer before the job ends with `input_timeout` (INPUT_TIMEOUT_S). */
  readonly inputTimeoutMs!: number;
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
  /** OpenTelemetry tracing: on when an exporter is configured by the standard OTEL_* variables. */
  readonly tracing!: { enabled: boolean; serviceName: string | undefined; tracesEndpoint: string | undefined; exporter: string | undefined };

  constructor(values: Omit<AppConfig, 'engine' | 'hasRedis'>) {
    Object.assign(this, values);
  }

  /** `embedded` (in-memory log, store and queue) or `nats` (JetStream + Redis when REDIS_URL is set). */
  get engine(): 'embedded' | 'nats' {
    return this.natsUrl ? 'nats' : 'embedded';
  }

  /** A Redis job store is configured (by URL or through Sentinel). */
  get hasRedis(): boolean {
    return this.redisUrl !== undefined || this.redisSentinel !== undefined;
  }
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

function parseApiKeys(raw: string | undefined, hash: (key: string) => string): Tenancy {
  const keys = new Map<string, string>();
  if (raw === undefined || raw.trim() === '') return { keys, authEnabled: false };
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
    const h = hash(key);
    if (keys.has(h) && keys.get(h) !== tenant) throw new ConfigError(`API_KEYS entry #${i + 1} reuses another tenant's key`);
    keys.set(h, tenant);
  }
  return { keys, authEnabled: keys.size > 0 };
}

export interface LoadConfigOptions {
  /**
   * Which process reads it: the API (default) refuses NODE_ENV=production without API_KEYS; a worker serves no
   * HTTP, so it does not need them.
   */
  role?: 'api' | 'worker';
}

/** Validates the environment; throws {@link ConfigError} naming every bad variable. */
export function loadConfig(env: RawEnv, hash: (key: string) => string, opts: LoadConfigOptions = {}): AppConfig {
  const res = envSchema.safeParse(env);
  if (!res.success) {
    const lines = res.error.issues.map((i) => `  - ${i.path.join('.') || 'env'}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const v = res.data;
  const tenancy = parseApiKeys(v.API_KEYS, hash);
  if (!tenancy.authEnabled && v.NODE_ENV === 'production' && (opts.role ?? 'api') === 'api') {
    throw new ConfigError('API_KEYS is required when NODE_ENV=production (refusing to start with authentication off)');
  }
  const sentinelName = v.REDIS_SENTINEL_NAME || undefined;
  if ((v.REDIS_SENTINELS === undefined) !== (sentinelName === undefined)) {
    throw new ConfigError(
      'invalid configuration:\n  - REDIS_SENTINELS and REDIS_SENTINEL_NAME go together: set both (Sentinel discovery) or neither (REDIS_URL)',
    );
  }
  const jobRetention = int('JOB_RETENTION_S', 1, 365 * 86_400, v.EVENT_RETENTION_S).safeParse(env.JOB_RETENTION_S);
  if (!jobRetention.success) throw new ConfigError(`invalid configuration:\n  - JOB_RETENTION_S: ${jobRetention.error.issues[0]?.message}`);
  return new AppConfig({
    env: v.NODE_ENV,
    port: v.PORT,
    host: v.HOST,
    natsUrl: v.NATS_URL,
    redisUrl: v.REDIS_URL,
    redisSentinel: v.REDIS_SENTINELS && sentinelName ? { sentinels: v.REDIS_SENTINELS, name: sentinelName } : undefined,
    jetstreamReplicas: v.JETSTREAM_REPLICAS,
    tenancy,
    heartbeatMs: v.HEARTBEAT_MS,
    eventRetentionMs: v.EVENT_RETENTION_S * 1000,
    jobRetentionMs: jobRetention.data * 1000,
    idempotencyTtlMs: v.IDEMPOTENCY_TTL_S * 1000,
    sseRetryMs: v.SSE_RETRY_MS,
    sseMaxBufferBytes: v.SSE_MAX_BUFFER_BYTES,
    maxBodyBytes: v.MAX_BODY_BYTES,
    workerConcurrency: v.WORKER_CONCURRENCY,
    maxAttempts: v.MAX_ATTEMPTS,
    jobStallTimeoutMs: v.JOB_STALL_TIMEOUT_MS,
    workerShutdownGraceMs: v.WORKER_SHUTDOWN_GRACE_MS,
    inProcessWorker: !v.NATS_URL || v.EMBEDDED_WORKER,
    logLevel: v.LOG_LEVEL,
    logFormat: v.LOG_FORMAT ?? (v.CI !== undefined && !/^(|0|false|no|off)$/i.test(v.CI.trim()) ? 'json' : 'auto'),
    openai: {
      baseUrl: v.OPENAI_BASE_URL?.replace(/\/+$/, ''),
      apiKey: v.OPENAI_API_KEY || undefined,
      model: v.OPENAI_MODEL || undefined,
      timeoutMs: v.OPENAI_TIMEOUT_MS,
    },
    streamTokenSecret: v.STREAM_TOKEN_SECRET,
    streamTokenTtlS: v.STREAM_TOKEN_TTL_S,
    corsOrigins: v.CORS_ORIGINS,
    playground: v.PLAYGROUND,
    metricsToken: v.METRICS_TOKEN ? v.METRICS_TOKEN : undefined,
    rateLimitCreatePerMin: v.RATE_LIMIT_CREATE_PER_MIN,
    maxStreamsPerTenant: v.MAX_STREAMS_PER_TENANT,
    maxStreams: v.MAX_STREAMS,
    shutdownTimeoutMs: v.SHUTDOWN_TIMEOUT_MS,
    embeddedMaxEvents: v.EMBEDDED_MAX_EVENTS,
    embeddedMaxBytes: v.EMBEDDED_MAX_BYTES,
    maxEventsPerJob: v.MAX_EVENTS_PER_JOB,
    hotCache: {
      events: env.HOT_CACHE_EVENTS === undefined || env.HOT_CACHE_EVENTS === '' ? (v.NATS_URL ? v.HOT_CACHE_EVENTS : 0) : v.HOT_CACHE_EVENTS,
      jobBytes: v.HOT_CACHE_JOB_BYTES,
      maxBytes: v.HOT_CACHE_BYTES,
      graceMs: v.HOT_CACHE_GRACE_MS,
    },
    inputTimeoutMs: v.INPUT_TIMEOUT_S * 1000,
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
    tracing: {
      enabled:
        !v.OTEL_SDK_DISABLED &&
        v.OTEL_TRACES_EXPORTER !== 'none' &&
        (v.OTEL_TRACES_EXPORTER !== undefined || v.OTEL_EXPORTER_OTLP_ENDPOINT !== undefined || v.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT !== undefined),
      serviceName: v.OTEL_SERVICE_NAME || undefined,
      // the OTLP/HTTP traces URL: the signal-specific variable as given, else the base endpoint + /v1/traces (the spec's rule)
      tracesEndpoint:
        v.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ??
        (v.OTEL_EXPORTER_OTLP_ENDPOINT ? `${v.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/traces` : undefined),
      exporter: v.OTEL_TRACES_EXPORTER || undefined,
    },
  });
}

/** For process entry points: the validated config, or exit 1 with the message naming the bad variables. */
export function loadConfigOrExit(env: RawEnv, hash: (key: string) => string, program: string, opts: LoadConfigOptions = {}): AppConfig {
  try {
    return loadConfig(env, hash, opts);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${program}: ${err.message}\n`);
    process.exit(1);
  }
}
