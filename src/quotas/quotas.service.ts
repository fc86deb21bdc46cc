/**
 * The one place quotas are decided and counted. Stores that count across processes (open jobs, threads, webhook
 * endpoints) refuse atomically with `QuotaExceededError` (from `@jobstream/contracts`); what is counted per process
 * (open streams, waits) is checked here. Either way the answer is the same 429 `quota_exceeded` (+ `Retry-After`
 * when waiting helps), and every refusal is counted in `jobstream_quota_refusals_total{kind}`. Other quotas (e.g.
 * log bytes) reuse {@link Quotas.refuse} / {@link Quotas.enforce} to get the same shape and metric.
 */
import { Injectable, Optional } from '@nestjs/common';
import { QuotaExceededError, type QuotaKind } from '@jobstream/contracts';
import type { CreateQuota } from '@jobstream/job-store';
import { AppConfig } from '../config/config.js';
import { Metrics } from '../metrics/metrics.service.js';

export { QuotaExceededError, type QuotaKind } from '@jobstream/contracts';

/** Retry-After of an open-jobs refusal: a short job of the tenant may have ended by then. */
const ACTIVE_JOBS_RETRY_AFTER_S = 5;

@Injectable()
export class Quotas {
  constructor(
    private readonly config: AppConfig,
    @Optional() private readonly metrics?: Metrics,
  ) {}

  /** The open-jobs quota as the job store takes it. */
  get jobCreate(): CreateQuota {
    return { maxOpenJobs: this.config.quotas.activeJobs, retryAfterS: ACTIVE_JOBS_RETRY_AFTER_S };
  }

  get maxThreads(): number {
    return this.config.quotas.threads;
  }

  /** Counts the refusal and throws the 429. */
  refuse(kind: QuotaKind, limit: number, retryAfterS?: number, message?: string): never {
    const err = new QuotaExceededError(kind, limit, retryAfterS, message);
    this.metrics?.quotaRefused(kind);
    throw err;
  }

  /** Runs a call that may refuse with a quota error (a store's atomic check), counting the refusal. */
  async enforce<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof QuotaExceededError) this.metrics?.quotaRefused(err.kind);
      throw err;
    }
  }
}
