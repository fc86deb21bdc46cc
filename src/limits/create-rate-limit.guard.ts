/**
 * The create rate limit ({@link CreateRateLimiter}) as a route guard, for endpoints that create exactly one thing.
 * Runs after the API-key guard (method guards follow class guards), so the tenant is known.
 */
import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { AuthedRequest } from '../auth/api-key.guard.js';
import { DEFAULT_TENANT } from '../auth/auth.constants.js';
import { CreateRateLimiter } from './create-rate-limiter.js';

@Injectable()
export class CreateRateLimitGuard implements CanActivate {
  constructor(private readonly limiter: CreateRateLimiter) {}

  canActivate(ctx: ExecutionContext): boolean {
    const req = ctx.switchToHttp().getRequest<AuthedRequest>();
    this.limiter.take(req.tenant ?? DEFAULT_TENANT);
    return true;
  }
}
