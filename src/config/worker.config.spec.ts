import { describe, expect, it } from '@jest/globals';
import { AppConfig, ConfigError, loadConfig } from './config.js';
import { CommonConfig, loadCommonConfig } from './common.config.js';
import { hashKey } from './key-hash.js';
import { WorkerConfig, loadWorkerConfig } from './worker.config.js';

describe('config split: common, worker, API', () => {
  it("a worker's config has the same documented defaults as the API's for every setting they share", () => {
    const w = loadWorkerConfig({});
    const a = loadConfig({}, hashKey);
    const shared = Object.keys(w) as (keyof WorkerConfig)[];
    expect(shared.sort()).toEqual(
      [
        'agentTtlMs',
        'coalesceTextEvents',
        'dsMaxBytes',
        'embeddedMaxBytes',
        'embeddedMaxEvents',
        'env',
        'eventRetentionMs',
        'idempotencyTtlMs',
        'inputTimeoutMs',
        'jetstreamMaxBytes',
        'jetstreamReplicas',
        'jobRetentionMs',
        'jobStallTimeoutMs',
        'logFormat',
        'logLevel',
        'maxAttempts',
        'maxEventBytes',
        'maxEventsPerJob',
        'maxJobBytes',
        'natsUrl',
        'openai',
        'redisReplicaAck',
        'redisSentinel',
        'redisUrl',
        'tenantLogBytesQuota',
        'tracing',
        'workerAgents',
        'workerConcurrency',
        'workerShutdownGraceMs',
      ].sort(),
    );
    for (const k of shared) expect([k, a[k]]).toEqual([k, w[k]]);
    expect(w).toMatchObject({
      agentTtlMs: 15_000,
      workerAgents: null,
      workerConcurrency: 16,
      maxAttempts: 3,
      jobStallTimeoutMs: 60_000,
      workerShutdownGraceMs: 5_000,
      engine: 'embedded',
    });
    expect(a).toBeInstanceOf(WorkerConfig);
    expect(a).toBeInstanceOf(CommonConfig);
    expect(w).not.toBeInstanceOf(AppConfig);
  });

  it('a worker neither reads nor validates API-only variables (HTTP, auth, browser access, limits, webhooks)', () => {
    const apiOnly = {
      NODE_ENV: 'production', // the API refuses this without API_KEYS; a worker serves no HTTP
      API_KEYS: 'acme:short',
      PORT: '70000',
      CORS_ORIGINS: 'app.example.com',
      STREAM_TOKEN_SECRET: 'short',
      METRICS_TOKEN: 'x',
      MAX_STREAMS: 'many',
      WEBHOOK_RETRY_SCHEDULE: 'soon',
      SHUTDOWN_TIMEOUT_MS: '1',
    };
    const w = loadWorkerConfig({ ...apiOnly, NATS_URL: 'nats://h:1', WORKER_CONCURRENCY: '4' });
    expect(w).toMatchObject({ natsUrl: 'nats://h:1', workerConcurrency: 4, env: 'production' });
    expect(w).not.toHaveProperty('tenancy');
    expect(w).not.toHaveProperty('port');
    expect(w).not.toHaveProperty('corsOrigins');
    // the API still validates every one of them
    expect(() => loadConfig({ ...apiOnly, NATS_URL: 'nats://h:1' }, hashKey)).toThrow(ConfigError);
  });

  it('a worker validates its own and the common variables, naming each bad one', () => {
    expect(() => loadWorkerConfig({ WORKER_CONCURRENCY: '0' })).toThrow(/WORKER_CONCURRENCY must be an integer from 1/);
    expect(() => loadWorkerConfig({ MAX_ATTEMPTS: 'x' })).toThrow(/MAX_ATTEMPTS/);
    expect(() => loadWorkerConfig({ NATS_URL: 'http://x' })).toThrow(/NATS_URL must use nats/);
    expect(() => loadWorkerConfig({ JOB_STALL_TIMEOUT_MS: '5' })).toThrow(/JOB_STALL_TIMEOUT_MS/);
    expect(() => loadWorkerConfig({ REDIS_SENTINELS: 'h:1' })).toThrow(
      /REDIS_SENTINELS and REDIS_SENTINEL_NAME go together/,
    );
    expect(() => loadWorkerConfig({ JOB_RETENTION_S: '0' })).toThrow(/JOB_RETENTION_S/);
    expect(() => loadWorkerConfig({ OPENAI_BASE_URL: 'ftp://x' })).toThrow(/OPENAI_BASE_URL/);
    expect(() => loadWorkerConfig({ MAX_EVENT_BYTES: '100' })).toThrow(/MAX_EVENT_BYTES must be an integer from 1024/);
    expect(() => loadWorkerConfig({ MAX_JOB_BYTES: 'lots' })).toThrow(/MAX_JOB_BYTES/);
    expect(() => loadWorkerConfig({ JETSTREAM_MAX_BYTES: '1000' })).toThrow(/JETSTREAM_MAX_BYTES/);
    expect(() => loadWorkerConfig({ TENANT_LOG_BYTES_QUOTA: '-1' })).toThrow(/TENANT_LOG_BYTES_QUOTA/);
  });

  it('caps and the log-bytes quota: defaults, and the quota as a quarter of whichever log the engine uses', () => {
    expect(loadWorkerConfig({})).toMatchObject({
      maxEventBytes: 256 * 1024,
      maxJobBytes: 64 * 1024 * 1024,
      jetstreamMaxBytes: 1024 ** 3,
      tenantLogBytesQuota: (512 * 1024 * 1024) / 4, // EMBEDDED_MAX_BYTES / 4
    });
    expect(loadWorkerConfig({ NATS_URL: 'nats://h:1', JETSTREAM_MAX_BYTES: String(8 * 1024 ** 3) })).toMatchObject({
      jetstreamMaxBytes: 8 * 1024 ** 3,
      tenantLogBytesQuota: 2 * 1024 ** 3,
    });
    expect(loadWorkerConfig({ TENANT_LOG_BYTES_QUOTA: '0' }).tenantLogBytesQuota).toBe(0);
    expect(loadWorkerConfig({ TENANT_LOG_BYTES_QUOTA: '12345' }).tenantLogBytesQuota).toBe(12345);
  });

  it('the common config alone: engine, logging and tracing, nothing of the worker or the API', () => {
    const c = loadCommonConfig({ NATS_URL: 'nats://h:1', REDIS_URL: 'redis://h:2', LOG_LEVEL: 'warn' });
    expect(c).toMatchObject({ engine: 'nats', hasRedis: true, logLevel: 'warn', jobRetentionMs: 86_400_000 });
    expect(c).not.toHaveProperty('workerConcurrency');
    expect(() => loadCommonConfig({ LOG_LEVEL: 'loud' })).toThrow(/LOG_LEVEL/);
  });
});
