/**
 * Per-tenant quotas and the fair share of webhook tries (API variables). Over a quota a request is answered 429
 * `quota_exceeded` (src/quotas). `0` turns a quota off.
 */
import { int } from './env.js';

export const quotaEnvShape = {
  TENANT_MAX_ACTIVE_JOBS: int('TENANT_MAX_ACTIVE_JOBS', 0, 10_000_000, 1_000),
  TENANT_MAX_THREADS: int('TENANT_MAX_THREADS', 0, 100_000_000, 10_000),
  TENANT_MAX_WAITS: int('TENANT_MAX_WAITS', 0, 1_000_000, 100),
  WEBHOOK_TENANT_CONCURRENCY: int('WEBHOOK_TENANT_CONCURRENCY', 1, 1_000, 4),
  THREAD_RETENTION_S: int('THREAD_RETENTION_S', 0, 10 * 365 * 86_400, 30 * 86_400),
};

export interface QuotaSettings {
  /** Jobs `queued`, `running` or `waiting_for_input` per tenant (all processes: counted in the job store). */
  activeJobs: number;
  /** Threads per tenant (counted in the thread store). */
  threads: number;
  /** Concurrent `GET /wait` long-polls per tenant, per API process. */
  waits: number;
  /** Webhook tries of one tenant in flight at once, over all processes (the fair share of the dispatchers). */
  webhookTenantConcurrency: number;
  /** An idle thread (no turn active or waiting) unchanged this long is deleted with its jobs (ms); 0 = never. */
  threadRetentionMs: number;
}

export function quotaValues(v: {
  TENANT_MAX_ACTIVE_JOBS: number;
  TENANT_MAX_THREADS: number;
  TENANT_MAX_WAITS: number;
  WEBHOOK_TENANT_CONCURRENCY: number;
  THREAD_RETENTION_S: number;
}): QuotaSettings {
  return {
    activeJobs: v.TENANT_MAX_ACTIVE_JOBS,
    threads: v.TENANT_MAX_THREADS,
    waits: v.TENANT_MAX_WAITS,
    webhookTenantConcurrency: v.WEBHOOK_TENANT_CONCURRENCY,
    threadRetentionMs: v.THREAD_RETENTION_S * 1000,
  };
}
