/**
 * Per-tenant rate limit on every way of creating work (RATE_LIMIT_CREATE_PER_MIN, token bucket, burst = the
 * per-minute number): REST and NATS job creates, each item of a batch, reruns, threads and thread turns all take
 * from the same bucket of their tenant. In memory: the limit holds per API process. A refusal is 429
 * `rate_limited` with Retry-After.
 */
import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { ApiError } from '../common/api-error.js';
import { AppConfig } from '../config/config.js';
import { Metrics } from '../metrics/metrics.service.js';
import { TokenBuckets } from './token-buckets.js';

@Injectable()
export class CreateRateLimiter implements OnModuleDestroy {
  private readonly buckets: TokenBuckets | null;
  private readonly sweeper: NodeJS.Timeout | null;

  constructor(
    config: AppConfig,
    private readonly metrics: Metrics,
  ) {
    const perMin = config.rateLimitCreatePerMin;
    this.buckets = perMin > 0 ? new TokenBuckets(perMin, 60_000) : null;
    this.sweeper = this.buckets ? setInterval(() => this.buckets!.sweep(), 60_000) : null;
    this.sweeper?.unref();
  }

  /** Takes one creation from the tenant's bucket, or throws the 429. */
  take(tenant: string, what = 'jobs'): void {
    if (!this.buckets) return;
    const r = this.buckets.take(tenant);
    if (r.ok) return;
    this.metrics.limitRejected('create_rate');
    throw new ApiError(429, 'rate_limited', `too many ${what} created; retry in ${r.retryAfterS} s`, {
      'Retry-After': String(r.retryAfterS),
    });
  }

  onModuleDestroy(): void {
    if (this.sweeper) clearInterval(this.sweeper);
  }
}
