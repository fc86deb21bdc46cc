import { describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig } from './config.js';
import { hashKey } from './key-hash.js';

describe('quota configuration', () => {
  it('has per-tenant defaults', () => {
    expect(loadConfig({}, hashKey).quotas).toEqual({
      activeJobs: 1_000,
      threads: 10_000,
      waits: 100,
      webhookTenantConcurrency: 4,
      threadRetentionMs: 30 * 86_400_000,
    });
  });

  it('reads each variable, 0 turning a quota off', () => {
    const q = loadConfig(
      {
        TENANT_MAX_ACTIVE_JOBS: '0',
        TENANT_MAX_THREADS: '5',
        TENANT_MAX_WAITS: '2',
        WEBHOOK_TENANT_CONCURRENCY: '1',
        THREAD_RETENTION_S: '0',
      },
      hashKey,
    ).quotas;
    expect(q).toEqual({ activeJobs: 0, threads: 5, waits: 2, webhookTenantConcurrency: 1, threadRetentionMs: 0 });
  });

  it('refuses bad values, naming the variable', () => {
    for (const [name, value] of [
      ['TENANT_MAX_ACTIVE_JOBS', '-1'],
      ['TENANT_MAX_THREADS', 'many'],
      ['TENANT_MAX_WAITS', '1.5'],
      ['WEBHOOK_TENANT_CONCURRENCY', '0'],
      ['THREAD_RETENTION_S', '-5'],
    ] as const) {
      expect(() => loadConfig({ [name]: value }, hashKey)).toThrow(ConfigError);
      expect(() => loadConfig({ [name]: value }, hashKey)).toThrow(new RegExp(name));
    }
  });
});
