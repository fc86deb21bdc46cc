/**
 * Per-tenant rate limit on job creation (RATE_LIMIT_CREATE_PER_MIN, token bucket, burst = the per-minute number).
 * In memory: the limit holds per API process. Runs after the API-key guard (method guards follow class guards),
 * so the tenant is known; a refusal is 429 `rate_limited` with Retry-After.
 */
import { Injectable, type CanActivate, type ExecutionContext, type OnModuleDestroy } from '@nestjs/common';
import type { AuthedRequest } from '../auth/api-key.guard.js';
import { DEFAULT_TENANT } from '../auth/auth.constants.js';
import { ApiError } from '../common/api-error.js';
import { AppConfig } from '../config/config.js';
import { Metrics } from '../metrics/metrics.service.js';
import { TokenBuckets } from './token-buckets.js';

@Injectable()
export class CreateRateLimitGuard implements CanActivate, OnModuleDestroy {
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

  canActivate(ctx: ExecutionContext): boolean {
    if (!this.buckets) return true;
    const req = ctx.switchToHttp().getRequest<AuthedRequest>();
    const r = this.buckets.take(req.tenant ?? DEFAULT_TENANT);
    if (r.ok) return true;
    this.metrics.limitRejected('create_rate');
    throw new ApiError(429, 'rate_limited', `too many jobs created; retry in ${r.retryAfterS} s`, {
      'Retry-After': String(r.retryAfterS),
    });
  }

  onModuleDestroy(): void {
    if (this.sweeper) clearInterval(this.sweeper);
  }
}
