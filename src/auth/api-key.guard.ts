/**
 * API-key authentication: `Authorization: Bearer <key>` → the key's tenant, set on the request. Keys are compared
 * as SHA-256 digests and never logged. With auth off (no API_KEYS), every request is the default tenant.
 */
import { Injectable, SetMetadata, createParamDecorator, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { ApiError } from '../common/api-error.js';
import { AppConfig } from '../config/config.js';
import { hashKey } from '../config/key-hash.js';
import { DEFAULT_TENANT, PUBLIC_ROUTE } from './auth.constants.js';

export interface AuthedRequest extends Request {
  tenant?: string;
}

export const Public = () => SetMetadata(PUBLIC_ROUTE, true);

/** The authenticated tenant of the request. */
export const Tenant = createParamDecorator((_: unknown, ctx: ExecutionContext): string => {
  const req = ctx.switchToHttp().getRequest<AuthedRequest>();
  return req.tenant ?? DEFAULT_TENANT;
});

export function bearerKey(header: string | undefined): string | null {
  if (!header) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m ? m[1]! : null;
}

@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly config: AppConfig,
    private readonly reflector: Reflector,
  ) {}

  canActivate(ctx: ExecutionContext): boolean {
    if (ctx.getType() !== 'http') return true;
    const req = ctx.switchToHttp().getRequest<AuthedRequest>();
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, [ctx.getHandler(), ctx.getClass()])) return true;
    const { tenancy } = this.config;
    if (!tenancy.authEnabled) {
      req.tenant = DEFAULT_TENANT;
      return true;
    }
    const key = bearerKey(req.headers.authorization);
    if (!key) throw new ApiError(401, 'unauthorized', 'missing API key: send Authorization: Bearer <key>');
    const tenant = tenancy.keys.get(hashKey(key));
    if (!tenant) throw new ApiError(401, 'unauthorized', 'invalid API key');
    req.tenant = tenant;
    return true;
  }
}
