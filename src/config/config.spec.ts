import { describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig } from './config.js';
import { hashKey } from './key-hash.js';
import { WorkerConfig, loadWorkerConfig } from './worker.config.js';

const load = (env: Record<string, string>) => loadConfig(env, hashKey);

describe('loadConfig', () => {
  it('has the documented defaults and the embedded engine', () => {
    const c = load({});
    expect(c).toMatchObject({ port: 3000, heartbeatMs: 15_000, eventRetentionMs: 86_400_000, inProcessWorker: true });
    expect(c.engine).toBe('embedded');
    expect(c.tenancy.authEnabled).toBe(false);
  });

  it('parses API_KEYS into hashed keys per tenant', () => {
    const c = load({ API_KEYS: 'acme:key-acme-123, globex:key-globex-456' });
    expect(c.tenancy.authEnabled).toBe(true);
    expect(c.tenancy.keys.get(hashKey('key-acme-123'))).toBe('acme');
    expect(c.tenancy.keys.get(hashKey('key-globex-456'))).toBe('globex');
    expect(JSON.stringify([...c.tenancy.keys])).not.toContain('key-acme-123');
  });

  it('names the bad variable, and never echoes a key', () => {
    expect(() => load({ HEARTBEAT_MS: 'soon' })).toThrow(/HEARTBEAT_MS must be an integer/);
    expect(() => load({ PORT: '70000' })).toThrow(/PORT/);
    expect(() => load({ NATS_URL: 'http://x' })).toThrow(/NATS_URL must use nats/);
    try {
      load({ API_KEYS: 'acme:short' });
      throw new Error('expected a ConfigError');
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as Error).message).toMatch(/API_KEYS entry #1/);
      expect((e as Error).message).not.toContain('short');
    }
  });

  it('has a worker shutdown grace period of 5 s by default, from 0 to 600 000 ms', () => {
    expect(load({}).workerShutdownGraceMs).toBe(5_000);
    expect(load({ WORKER_SHUTDOWN_GRACE_MS: '0' }).workerShutdownGraceMs).toBe(0);
    expect(load({ WORKER_SHUTDOWN_GRACE_MS: '1500' }).workerShutdownGraceMs).toBe(1_500);
    expect(() => load({ WORKER_SHUTDOWN_GRACE_MS: '-1' })).toThrow(
      /WORKER_SHUTDOWN_GRACE_MS must be an integer from 0 to 600000/,
    );
    expect(() => load({ WORKER_SHUTDOWN_GRACE_MS: 'soon' })).toThrow(/WORKER_SHUTDOWN_GRACE_MS/);
  });

  it('lets a worker start in production without API_KEYS (it serves no HTTP); the API still refuses', () => {
    expect(loadWorkerConfig({ NODE_ENV: 'production', NATS_URL: 'nats://h:1' })).toBeInstanceOf(WorkerConfig);
    expect(() => load({ NODE_ENV: 'production', NATS_URL: 'nats://h:1' })).toThrow(/API_KEYS is required/);
  });

  it('validates JETSTREAM_REPLICAS (1 to 5, default 1)', () => {
    expect(load({}).jetstreamReplicas).toBe(1);
    expect(load({ JETSTREAM_REPLICAS: '3' }).jetstreamReplicas).toBe(3);
    for (const bad of ['0', '6', 'three', '2.5'])
      expect(() => load({ JETSTREAM_REPLICAS: bad })).toThrow(/JETSTREAM_REPLICAS must be an integer from 1 to 5/);
  });

  it('validates JETSTREAM_PARTITIONS (1 to 64, default 1) with a clear start-up error', () => {
    expect(load({}).jetstreamPartitions).toBe(1);
    expect(load({ JETSTREAM_PARTITIONS: '3' }).jetstreamPartitions).toBe(3);
    expect(load({ JETSTREAM_PARTITIONS: '64' }).jetstreamPartitions).toBe(64);
    for (const bad of ['0', '65', '-1', 'three', '2.5'])
      expect(() => load({ JETSTREAM_PARTITIONS: bad })).toThrow(/JETSTREAM_PARTITIONS must be an integer from 1 to 64/);
  });

  it('validates Redis Sentinel discovery: host:port list and master name, together', () => {
    const c = load({
      REDIS_SENTINELS: '10.0.0.5:26379, sentinel-b:26380,[::1]:26381',
      REDIS_SENTINEL_NAME: 'mymaster',
      NATS_URL: 'nats://h:1',
    });
    expect(c.redisSentinel).toEqual({
      name: 'mymaster',
      sentinels: [
        { host: '10.0.0.5', port: 26379 },
        { host: 'sentinel-b', port: 26380 },
        { host: '::1', port: 26381 },
      ],
    });
    expect(c.hasRedis).toBe(true);
    expect(load({}).redisSentinel).toBeUndefined();
    expect(() => load({ REDIS_SENTINELS: 'h:26379' })).toThrow(/REDIS_SENTINELS and REDIS_SENTINEL_NAME go together/);
    expect(() => load({ REDIS_SENTINEL_NAME: 'm' })).toThrow(/go together/);
    expect(() => load({ REDIS_SENTINELS: 'h', REDIS_SENTINEL_NAME: 'm' })).toThrow(
      /REDIS_SENTINELS entry "h" must be host:port/,
    );
    expect(() => load({ REDIS_SENTINELS: 'h:99999', REDIS_SENTINEL_NAME: 'm' })).toThrow(/host:port/);
    expect(() => load({ REDIS_SENTINELS: 'h:1', REDIS_SENTINEL_NAME: 'bad name' })).toThrow(/REDIS_SENTINEL_NAME/);
  });

  it('reads durable Redis acknowledgements: off by default, a replica count and a timeout, only with Redis', () => {
    expect(load({}).redisReplicaAck).toBeUndefined();
    expect(load({ REDIS_URL: 'redis://h:1', REDIS_MIN_REPLICAS_ACK: '0' }).redisReplicaAck).toBeUndefined();
    expect(load({ REDIS_URL: 'redis://h:1', REDIS_MIN_REPLICAS_ACK: '1' }).redisReplicaAck).toEqual({
      replicas: 1,
      timeoutMs: 1_000,
    });
    expect(
      load({ REDIS_URL: 'redis://h:1', REDIS_MIN_REPLICAS_ACK: '2', REDIS_REPLICA_ACK_TIMEOUT_MS: '250' })
        .redisReplicaAck,
    ).toEqual({ replicas: 2, timeoutMs: 250 });
    expect(() => load({ REDIS_MIN_REPLICAS_ACK: '1' })).toThrow(/REDIS_MIN_REPLICAS_ACK needs Redis/);
    expect(() => load({ REDIS_URL: 'redis://h:1', REDIS_MIN_REPLICAS_ACK: '-1' })).toThrow(/REDIS_MIN_REPLICAS_ACK/);
    expect(() => load({ REDIS_URL: 'redis://h:1', REDIS_REPLICA_ACK_TIMEOUT_MS: '0' })).toThrow(
      /REDIS_REPLICA_ACK_TIMEOUT_MS/,
    );
  });

  it('refuses to start without API keys in production', () => {
    expect(() => load({ NODE_ENV: 'production' })).toThrow(/API_KEYS is required/);
    expect(load({ NODE_ENV: 'production', API_KEYS: `a:${'k'.repeat(32)}` }).tenancy.authEnabled).toBe(true);
  });

  it('refuses API keys under 32 characters in production (never echoing them), and lists them for a warning otherwise', () => {
    const weak = 'a:0123456789,b:' + 'x'.repeat(31) + ',c:' + 'y'.repeat(32);
    expect(load({ API_KEYS: weak }).tenancy.weakKeyEntries).toEqual([1, 2]);
    expect(load({ API_KEYS: `c:${'y'.repeat(32)}` }).tenancy.weakKeyEntries).toEqual([]);
    try {
      load({ NODE_ENV: 'production', API_KEYS: weak });
      throw new Error('expected a ConfigError');
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as Error).message).toMatch(
        /API_KEYS entry #1: keys must be at least 32 characters when NODE_ENV=production/,
      );
      expect((e as Error).message).not.toContain('0123456789');
    }
  });

  it('refuses an event retention that does not outlast the input timeout; the defaults keep the rule', () => {
    const c = load({});
    expect(c.eventRetentionMs).toBeGreaterThan(c.inputTimeoutMs);
    expect(() => load({ EVENT_RETENTION_S: '3600', INPUT_TIMEOUT_S: '3600' })).toThrow(
      /EVENT_RETENTION_S \(3600\) must be greater than INPUT_TIMEOUT_S \(3600\)/,
    );
    expect(() => load({ EVENT_RETENTION_S: '3600' })).toThrow(/must be greater than INPUT_TIMEOUT_S \(82800\)/);
    expect(() => loadWorkerConfig({ EVENT_RETENTION_S: '60', INPUT_TIMEOUT_S: '120' })).toThrow(/must be greater/);
    expect(load({ EVENT_RETENTION_S: '3600', INPUT_TIMEOUT_S: '3599' }).inputTimeoutMs).toBe(3_599_000);
  });

  it('throttles invalid keys per address by default (20 per 60 s), 0 = off', () => {
    expect(load({}).authFailures).toEqual({ limit: 20, windowS: 60 });
    expect(load({ AUTH_FAIL_LIMIT: '0' }).authFailures.limit).toBe(0);
    expect(() => load({ AUTH_FAIL_WINDOW_S: '0' })).toThrow(/AUTH_FAIL_WINDOW_S/);
  });

  it('uses NATS when NATS_URL is set, with no in-process worker unless asked', () => {
    const c = load({ NATS_URL: 'nats://127.0.0.1:4222,nats://127.0.0.1:4223', REDIS_URL: 'redis://127.0.0.1:6379' });
    expect(c.engine).toBe('nats');
    expect(c.inProcessWorker).toBe(false);
    expect(load({ NATS_URL: 'nats://h:1', EMBEDDED_WORKER: 'true' }).inProcessWorker).toBe(true);
  });

  it('has browser defaults: no CORS, 300 s stream tokens, a per-process secret, the playground on', () => {
    const c = load({});
    expect(c).toMatchObject({
      corsOrigins: null,
      streamTokenTtlS: 300,
      streamTokenSecret: undefined,
      playground: true,
    });
    expect(load({ PLAYGROUND: 'off' }).playground).toBe(false);
  });

  it('reads LOG_FORMAT (pretty | json; unset: auto, or json under CI) and refuses anything else', () => {
    expect(load({}).logFormat).toBe('auto');
    expect(load({ LOG_FORMAT: 'JSON' }).logFormat).toBe('json');
    expect(load({ LOG_FORMAT: ' pretty ' }).logFormat).toBe('pretty');
    expect(load({ LOG_FORMAT: '' }).logFormat).toBe('auto');
    expect(load({ CI: 'true' }).logFormat).toBe('json');
    expect(load({ CI: '1', LOG_FORMAT: 'pretty' }).logFormat).toBe('pretty');
    expect(load({ CI: 'false' }).logFormat).toBe('auto');
    expect(() => load({ LOG_FORMAT: 'text' })).toThrow(/LOG_FORMAT must be pretty or json .*got "text"/);
  });

  it('parses CORS_ORIGINS as * or a list of origins', () => {
    expect(load({ CORS_ORIGINS: '*' }).corsOrigins).toBe('*');
    expect(load({ CORS_ORIGINS: ' ' }).corsOrigins).toBeNull();
    expect(load({ CORS_ORIGINS: 'https://app.example.com, http://localhost:5173/' }).corsOrigins).toEqual([
      'https://app.example.com',
      'http://localhost:5173',
    ]);
    expect(() => load({ CORS_ORIGINS: 'app.example.com' })).toThrow(/CORS_ORIGINS entry "app.example.com"/);
    expect(() => load({ CORS_ORIGINS: 'https://app.example.com/path' })).toThrow(/CORS_ORIGINS/);
    expect(() => load({ CORS_ORIGINS: 'https://a.example.com,*' })).toThrow(/CORS_ORIGINS/);
  });

  it('validates the stream token settings, never echoing the secret', () => {
    expect(load({ STREAM_TOKEN_TTL_S: '30', STREAM_TOKEN_SECRET: 's'.repeat(32) })).toMatchObject({
      streamTokenTtlS: 30,
      streamTokenSecret: 's'.repeat(32),
    });
    expect(() => load({ STREAM_TOKEN_TTL_S: '0' })).toThrow(/STREAM_TOKEN_TTL_S must be an integer/);
    try {
      load({ STREAM_TOKEN_SECRET: 'too-short-secret' });
      throw new Error('expected a ConfigError');
    } catch (e) {
      expect((e as Error).message).toMatch(/STREAM_TOKEN_SECRET must be at least 32 characters/);
      expect((e as Error).message).not.toContain('too-short-secret');
    }
  });

  it('validates INPUT_TIMEOUT_S (v1.1): 23 hours by default (under the one-day retention), a positive integer of seconds', () => {
    expect(load({}).inputTimeoutMs).toBe(82_800_000);
    expect(load({ INPUT_TIMEOUT_S: '90' }).inputTimeoutMs).toBe(90_000);
    expect(() => load({ INPUT_TIMEOUT_S: '0' })).toThrow(/INPUT_TIMEOUT_S must be an integer from 1/);
    expect(() => load({ INPUT_TIMEOUT_S: 'a day' })).toThrow(/INPUT_TIMEOUT_S must be an integer/);
  });

  it('has the operability defaults: public metrics, limits on, 10 s shutdown', () => {
    expect(load({})).toMatchObject({
      metricsToken: undefined,
      rateLimitCreatePerMin: 600,
      maxStreamsPerTenant: 1_000,
      maxStreams: 10_000,
      shareMaxStreams: 100,
      shutdownTimeoutMs: 10_000,
    });
    expect(load({ METRICS_TOKEN: '' }).metricsToken).toBeUndefined();
  });

  it('parses the metrics token, the limits (0 = off) and the shutdown timeout', () => {
    const c = load({
      METRICS_TOKEN: 'scrape-token-0123456789',
      RATE_LIMIT_CREATE_PER_MIN: '0',
      MAX_STREAMS_PER_TENANT: '5',
      MAX_STREAMS: '0',
      SHARE_MAX_STREAMS: '3',
      SHUTDOWN_TIMEOUT_MS: '5000',
    });
    expect(c).toMatchObject({
      metricsToken: 'scrape-token-0123456789',
      rateLimitCreatePerMin: 0,
      maxStreamsPerTenant: 5,
      maxStreams: 0,
      shareMaxStreams: 3,
      shutdownTimeoutMs: 5000,
    });
  });

  it('names each bad operability variable, and never echoes the metrics token', () => {
    expect(() => load({ RATE_LIMIT_CREATE_PER_MIN: '-1' })).toThrow(
      /RATE_LIMIT_CREATE_PER_MIN must be an integer from 0/,
    );
    expect(() => load({ MAX_STREAMS_PER_TENANT: 'many' })).toThrow(/MAX_STREAMS_PER_TENANT must be an integer/);
    expect(() => load({ MAX_STREAMS: '1.5' })).toThrow(/MAX_STREAMS must be an integer/);
    expect(() => load({ SHARE_MAX_STREAMS: '-2' })).toThrow(/SHARE_MAX_STREAMS must be an integer/);
    expect(() => load({ SHUTDOWN_TIMEOUT_MS: '10' })).toThrow(/SHUTDOWN_TIMEOUT_MS must be an integer from 1000/);
    try {
      load({ METRICS_TOKEN: 'short-tok' });
      throw new Error('expected a ConfigError');
    } catch (e) {
      expect((e as Error).message).toMatch(/METRICS_TOKEN must be 16 to 256 visible ASCII/);
      expect((e as Error).message).not.toContain('short-tok');
    }
  });

  it('validates the memory budget and the per-job event cap', () => {
    const c = loadConfig({}, (k) => k);
    expect([c.embeddedMaxEvents, c.embeddedMaxBytes, c.maxEventsPerJob]).toEqual([
      1_500_000,
      512 * 1024 * 1024,
      1_100_000,
    ]);
    const d = loadConfig(
      { EMBEDDED_MAX_EVENTS: '5000', EMBEDDED_MAX_BYTES: '10485760', MAX_EVENTS_PER_JOB: '100' },
      (k) => k,
    );
    expect([d.embeddedMaxEvents, d.embeddedMaxBytes, d.maxEventsPerJob]).toEqual([5000, 10485760, 100]);
    expect(() => loadConfig({ EMBEDDED_MAX_EVENTS: '10' }, (k) => k)).toThrow(/EMBEDDED_MAX_EVENTS/);
    expect(() => loadConfig({ EMBEDDED_MAX_BYTES: 'lots' }, (k) => k)).toThrow(/EMBEDDED_MAX_BYTES/);
    expect(() => loadConfig({ MAX_EVENTS_PER_JOB: '1.5' }, (k) => k)).toThrow(/MAX_EVENTS_PER_JOB/);
  });
});
