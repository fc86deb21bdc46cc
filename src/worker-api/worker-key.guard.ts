/**
 * Worker credentials (WORKER_KEYS): the only keys accepted under `/v1/worker/`. A tenant's key is refused there
 * (`403`), as a worker key is on tenant routes (ApiKeyGuard). Keys are compared as SHA-256 digests, never logged;
 * an address that sends too many invalid keys waits, as on tenant routes. Without WORKER_KEYS the routes are off.
 */
import { Injectable, Optional, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import { bearerKey } from '../auth/api-key.guard.js';
import { AuthFailures } from '../auth/auth-failures.js';
import { ApiError } from '../common/api-error.js';
import { AppConfig } from '../config/config.js';
import { hashKey } from '../config/key-hash.js';

export interface WorkerRequest extends Request {
  /** The worker name its key was issued to (WORKER_KEYS). */
  workerName?: string;
}

@Injectable()
export class WorkerKeyGuard implements CanActivate {
  constructor(
    private readonly config: AppConfig,
    @Optional() private readonly failures?: AuthFailures,
  ) {}

  canActivate(ctx: ExecutionContext): boolean {
    const req = ctx.switchToHttp().getRequest<WorkerRequest>();
    const { workerApi, tenancy } = this.config;
    if (!workerApi.enabled)
      throw new ApiError(404, 'not_found', 'the HTTP worker protocol is off on this server (set WORKER_KEYS)');
    const key = bearerKey(req.headers.authorization);
    if (!key) throw new ApiError(401, 'unauthorized', 'missing worker key: send Authorization: Bearer <worker key>');
    const address = req.ip ?? req.socket?.remoteAddress ?? '';
    const waitS = this.failures?.retryAfterS(address) ?? 0;
    if (waitS > 0)
      throw new ApiError(429, 'rate_limited', `too many invalid keys from this address; retry in ${waitS} s`, {
        'Retry-After': String(waitS),
      });
    const h = hashKey(key);
    const worker = workerApi.keys.get(h);
    if (worker) {
      req.workerName = worker;
      return true;
    }
    if (tenancy.keys.has(h))
      throw new ApiError(
        403,
        'forbidden',
        'a tenant API key is not accepted under /v1/worker/: use a worker key (WORKER_KEYS)',
      );
    this.failures?.fail(address);
    throw new ApiError(401, 'unauthorized', 'invalid worker key');
  }
}
