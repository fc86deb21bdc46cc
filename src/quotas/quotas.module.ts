import { Global, Module } from '@nestjs/common';
import { CreateRateLimiter } from '../limits/create-rate-limiter.js';
import { CreateRateLimitGuard } from '../limits/create-rate-limit.guard.js';
import { WaitLimits } from '../limits/wait-limits.js';
import { Quotas } from './quotas.service.js';

/** Quotas and the create rate limit, shared by every feature that creates work or holds a tenant's resources. */
@Global()
@Module({
  providers: [Quotas, CreateRateLimiter, CreateRateLimitGuard, WaitLimits],
  exports: [Quotas, CreateRateLimiter, CreateRateLimitGuard, WaitLimits],
})
export class QuotasModule {}
