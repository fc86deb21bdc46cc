import { describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig, parseDurations } from './config.js';
import { hashKey } from './key-hash.js';

describe('webhook and tracing configuration', () => {
  it('parses retry schedules with units', () => {
    expect(parseDurations('250ms,5s,5m,2h,100')).toEqual([250, 5_000, 300_000, 7_200_000, 100]);
    expect(parseDurations('5 s')).toBeNull();
    expect(parseDurations('-1s')).toBeNull();
    expect(parseDurations('1d')).toBeNull();
  });

  it('defaults to the Standard Webhooks schedule: 8 tries over more than a day, guard on', () => {
    const c = loadConfig({}, hashKey);
    expect(c.webhooks.retryScheduleMs).toHaveLength(7);
    expect(c.webhooks.retryScheduleMs.reduce((a, b) => a + b, 0)).toBeGreaterThan(3_600_000);
    expect(c.webhooks).toMatchObject({ enabled: true, allowPrivate: false, timeoutMs: 10_000, maxPerTenant: 20 });
  });

  it('refuses a malformed schedule, naming the variable', () => {
    expect(() => loadConfig({ WEBHOOK_RETRY_SCHEDULE: 'soon' }, hashKey)).toThrow(ConfigError);
    expect(() => loadConfig({ WEBHOOK_RETRY_SCHEDULE: 'soon' }, hashKey)).toThrow(/WEBHOOK_RETRY_SCHEDULE/);
  });

  it('turns tracing on only when an exporter is configured', () => {
    expect(loadConfig({}, hashKey).tracing.enabled).toBe(false);
    const on = loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318/' }, hashKey).tracing;
    expect(on).toMatchObject({ enabled: true, tracesEndpoint: 'http://127.0.0.1:4318/v1/traces' });
    expect(
      loadConfig({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:4318/custom' }, hashKey).tracing.tracesEndpoint,
    ).toBe('http://c:4318/custom');
    expect(
      loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'true' }, hashKey).tracing.enabled,
    ).toBe(false);
    expect(
      loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_EXPORTER: 'none' }, hashKey).tracing
        .enabled,
    ).toBe(false);
    expect(loadConfig({ OTEL_TRACES_EXPORTER: 'console' }, hashKey).tracing.enabled).toBe(true);
  });
});
