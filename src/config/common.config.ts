/**
 * Configuration every process reads (API and worker alike): the engine (NATS, Redis, JetStream, retention, the
 * embedded engine's budget, the queue's stall timeout), logging and tracing.
 */
import { z } from 'zod';
import { LOG_FORMATS, type LogFormat, type LogFormatSetting } from '../logging/log-format.js';
import { ConfigError, bool, int, parseEnv, url, type RawEnv } from './env.js';

/** The default per-tenant log-bytes quota, as a share of the log's size (JETSTREAM_MAX_BYTES / EMBEDDED_MAX_BYTES). */
export const DEFAULT_TENANT_LOG_SHARE = 0.25;

export const commonEnvShape = {
  NODE_ENV: z.string().optional().default('development'),
  NATS_URL: url('NATS_URL', ['nats', 'tls', 'ws', 'wss']),
  REDIS_URL: url('REDIS_URL', ['redis', 'rediss']),
  REDIS_SENTINELS: z
    .string()
    .optional()
    .transform((v, ctx): { host: string; port: number }[] | undefined => {
      if (v === undefined || v.trim() === '') return undefined;
      const out: { host: string; port: number }[] = [];
      for (const raw of v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)) {
        const m = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(raw);
        const port = m ? Number(m[2]) : NaN;
        if (!m || port < 1 || port > 65535) {
          ctx.addIssue({
            code: 'custom',
            message: `REDIS_SENTINELS entry "${raw}" must be host:port (e.g. 10.0.0.5:26379)`,
          });
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
  REDIS_MIN_REPLICAS_ACK: int('REDIS_MIN_REPLICAS_ACK', 0, 16, 0),
  REDIS_REPLICA_ACK_TIMEOUT_MS: int('REDIS_REPLICA_ACK_TIMEOUT_MS', 10, 10_000, 1_000),
  JETSTREAM_REPLICAS: int('JETSTREAM_REPLICAS', 1, 5, 1),
  JETSTREAM_PARTITIONS: int('JETSTREAM_PARTITIONS', 1, 64, 1),
  EVENT_RETENTION_S: int('EVENT_RETENTION_S', 1, 365 * 86_400, 86_400),
  JOB_RETENTION_S: z.string().optional(),
  IDEMPOTENCY_TTL_S: int('IDEMPOTENCY_TTL_S', 1, 30 * 86_400, 86_400),
  JOB_STALL_TIMEOUT_MS: int('JOB_STALL_TIMEOUT_MS', 1_000, 86_400_000, 60_000),
  EMBEDDED_MAX_EVENTS: int('EMBEDDED_MAX_EVENTS', 100, 1_000_000_000, 1_500_000),
  EMBEDDED_MAX_BYTES: int('EMBEDDED_MAX_BYTES', 1024 * 1024, 1024 ** 4, 512 * 1024 * 1024),
  JETSTREAM_MAX_BYTES: int('JETSTREAM_MAX_BYTES', 1024 * 1024, 1024 ** 5, 1024 ** 3),
  DS_MAX_BYTES: int('DS_MAX_BYTES', 1024 * 1024, 1024 ** 5, 8 * 1024 ** 3),
  TENANT_LOG_BYTES_QUOTA: z.string().optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional().default('info'),
  LOG_FORMAT: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return undefined;
      const f = v.trim().toLowerCase();
      if ((LOG_FORMATS as readonly string[]).includes(f)) return f as LogFormat;
      ctx.addIssue({
        code: 'custom',
        message: `LOG_FORMAT must be pretty or json (unset: pretty on a terminal, JSON otherwise), got "${v}"`,
      });
      return z.NEVER;
    }),
  // set by CI systems: no pretty logs there unless LOG_FORMAT asks
  CI: z.string().optional(),
  OTEL_SDK_DISABLED: bool('OTEL_SDK_DISABLED', false),
  OTEL_TRACES_EXPORTER: z.string().optional(),
  OTEL_EXPORTER_OTLP_ENDPOINT: url('OTEL_EXPORTER_OTLP_ENDPOINT', ['http', 'https']),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: url('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', ['http', 'https']),
  OTEL_SERVICE_NAME: z.string().optional(),
};

/** The settings every process has, injected as a typed service (the worker's and the API's configs extend it). */
export class CommonConfig {
  readonly env!: string;
  readonly natsUrl!: string | undefined;
  readonly redisUrl!: string | undefined;
  /** Redis Sentinel discovery: the sentinels and the master name they monitor (REDIS_URL then only gives credentials / db). */
  readonly redisSentinel!: { sentinels: { host: string; port: number }[]; name: string } | undefined;
  /**
   * Durable acknowledgements (REDIS_MIN_REPLICAS_ACK > 0): the Redis writes that an answer acknowledges (job create,
   * input answer, cancel, thread and turn create) wait for this many replicas (`WAIT`), at most `timeoutMs`, or
   * answer 503. Unset: they do not wait (Redis replication is asynchronous).
   */
  readonly redisReplicaAck!: { replicas: number; timeoutMs: number } | undefined;
  /** Replicas of the JetStream streams (1–5); existing streams are reconciled to it at start. */
  readonly jetstreamReplicas!: number;
  /** Event streams jobs are spread over by job id (1–64; docs/NATS.md "Partitions"). */
  readonly jetstreamPartitions!: number;
  readonly eventRetentionMs!: number;
  readonly jobRetentionMs!: number;
  readonly idempotencyTtlMs!: number;
  /** The work queue's ack wait; the watchdog ends a job silent for twice this. */
  readonly jobStallTimeoutMs!: number;
  readonly logLevel!: string;
  /** LOG_FORMAT, or `auto` when unset (pretty on a terminal, see logging/log-format.ts); `json` when unset under CI. */
  readonly logFormat!: LogFormatSetting;
  /**
   * Memory budget of the embedded engine's event log (events, and bytes as estimated): the oldest finished jobs are
   * evicted past it; new jobs are refused (503) when running jobs alone hold 90 % of it.
   */
  readonly embeddedMaxEvents!: number;
  readonly embeddedMaxBytes!: number;
  /** The JetStream events stream's size (discard new: a full log refuses appends, it never evicts). */
  readonly jetstreamMaxBytes!: number;
  /** The Durable Streams log's size (JetStream stream JOBSTREAM_DS, discard new), shared by all tenants. */
  readonly dsMaxBytes!: number;
  /**
   * Most bytes of events one tenant may hold in the log (counted over the retention): a create while over it is a
   * 429, a running job that passes it ends `quota_exceeded`. `0` = no quota.
   */
  readonly tenantLogBytesQuota!: number;
  /** OpenTelemetry tracing: on when an exporter is configured by the standard OTEL_* variables. */
  readonly tracing!: {
    enabled: boolean;
    serviceName: string | undefined;
    tracesEndpoint: string | undefined;
    exporter: string | undefined;
  };

  constructor(values: ConfigValues<CommonConfig>) {
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

/** The fields of a config class (what its constructor takes). */
export type ConfigValues<T> = Omit<T, 'engine' | 'hasRedis'>;

export type CommonEnv = z.output<z.ZodObject<typeof commonEnvShape>>;

/** The common settings from validated variables (the cross-variable rules are checked here). */
export function commonValues(v: CommonEnv, env: RawEnv): ConfigValues<CommonConfig> {
  const sentinelName = v.REDIS_SENTINEL_NAME || undefined;
  if ((v.REDIS_SENTINELS === undefined) !== (sentinelName === undefined)) {
    throw new ConfigError(
      'invalid configuration:\n  - REDIS_SENTINELS and REDIS_SENTINEL_NAME go together: set both (Sentinel discovery) or neither (REDIS_URL)',
    );
  }
  if (v.REDIS_MIN_REPLICAS_ACK > 0 && !v.REDIS_URL && !v.REDIS_SENTINELS) {
    throw new ConfigError(
      'invalid configuration:\n  - REDIS_MIN_REPLICAS_ACK needs Redis (REDIS_URL or REDIS_SENTINELS): the replicas are Redis replicas',
    );
  }
  const jobRetention = int('JOB_RETENTION_S', 1, 365 * 86_400, v.EVENT_RETENTION_S).safeParse(env.JOB_RETENTION_S);
  if (!jobRetention.success)
    throw new ConfigError(`invalid configuration:\n  - JOB_RETENTION_S: ${jobRetention.error.issues[0]?.message}`);
  // the default quota is a share of the log's size, so that no one tenant can fill the log
  const logBytes = v.NATS_URL ? v.JETSTREAM_MAX_BYTES : v.EMBEDDED_MAX_BYTES;
  const quota = int('TENANT_LOG_BYTES_QUOTA', 0, 1024 ** 5, Math.floor(logBytes * DEFAULT_TENANT_LOG_SHARE)).safeParse(
    env.TENANT_LOG_BYTES_QUOTA,
  );
  if (!quota.success)
    throw new ConfigError(`invalid configuration:\n  - TENANT_LOG_BYTES_QUOTA: ${quota.error.issues[0]?.message}`);
  return {
    env: v.NODE_ENV,
    natsUrl: v.NATS_URL,
    redisUrl: v.REDIS_URL,
    redisSentinel: v.REDIS_SENTINELS && sentinelName ? { sentinels: v.REDIS_SENTINELS, name: sentinelName } : undefined,
    redisReplicaAck:
      v.REDIS_MIN_REPLICAS_ACK > 0
        ? { replicas: v.REDIS_MIN_REPLICAS_ACK, timeoutMs: v.REDIS_REPLICA_ACK_TIMEOUT_MS }
        : undefined,
    jetstreamReplicas: v.JETSTREAM_REPLICAS,
    jetstreamPartitions: v.JETSTREAM_PARTITIONS,
    eventRetentionMs: v.EVENT_RETENTION_S * 1000,
    jobRetentionMs: jobRetention.data * 1000,
    idempotencyTtlMs: v.IDEMPOTENCY_TTL_S * 1000,
    jobStallTimeoutMs: v.JOB_STALL_TIMEOUT_MS,
    logLevel: v.LOG_LEVEL,
    logFormat: v.LOG_FORMAT ?? (v.CI !== undefined && !/^(|0|false|no|off)$/i.test(v.CI.trim()) ? 'json' : 'auto'),
    embeddedMaxEvents: v.EMBEDDED_MAX_EVENTS,
    embeddedMaxBytes: v.EMBEDDED_MAX_BYTES,
    jetstreamMaxBytes: v.JETSTREAM_MAX_BYTES,
    dsMaxBytes: v.DS_MAX_BYTES,
    tenantLogBytesQuota: quota.data,
    tracing: {
      enabled:
        !v.OTEL_SDK_DISABLED &&
        v.OTEL_TRACES_EXPORTER !== 'none' &&
        (v.OTEL_TRACES_EXPORTER !== undefined ||
          v.OTEL_EXPORTER_OTLP_ENDPOINT !== undefined ||
          v.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT !== undefined),
      serviceName: v.OTEL_SERVICE_NAME || undefined,
      // the OTLP/HTTP traces URL: the signal-specific variable as given, else the base endpoint + /v1/traces (the spec's rule)
      tracesEndpoint:
        v.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ??
        (v.OTEL_EXPORTER_OTLP_ENDPOINT ? `${v.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/traces` : undefined),
      exporter: v.OTEL_TRACES_EXPORTER || undefined,
    },
  };
}

/** Validates only the common variables (tools and tests that need no more). */
export function loadCommonConfig(env: RawEnv): CommonConfig {
  return new CommonConfig(commonValues(parseEnv(z.object(commonEnvShape), env), env));
}
