/**
 * API-key authentication: `Authorization: Bearer <key>` → the key's tenant, set on the request. Keys are compared
 * as SHA-256 digests and never logged. With auth off (no API_KEYS), every request is the default tenant.
 *
 * Handlers marked {@link AcceptsStreamToken} (only the SSE stream) also take a browser stream token as
 * `?access_token=` instead of the header; a token given there is always checked, even with auth off. Every other
 * handler ignores `access_token` (without an API key it is a 401 that says where tokens belong).
 */
import { Injectable, SetMetadata, createParamDecorator, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { ApiError } from '../common/api-error.js';
import { AppConfig } from '../config/config.js';
import { hashKey } from '../config/key-hash.js';
import { DEFAULT_TENANT, PUBLIC_ROUTE, STREAM_TOKEN_ROUTE } from './auth.constants.js';
import { StreamTokenService } from './stream-token.service.js';

export interface AuthedRequest extends Request {
  tenant?: string;
}

export const Public = () => SetMetadata(PUBLIC_ROUTE, true);
/** The handler accepts a stream token for its `:id` job as `?access_token=` (read-only SSE streams only). */
export const AcceptsStreamToken = () => SetMetadata(STREAM_TOKEN_ROUTE, true);

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
    private readonly streamTokens: StreamTokenService,
  ) {}

  canActivate(ctx: ExecutionContext): boolean {
    if (ctx.getType() !== 'http') return true;
    const req = ctx.switchToHttp().getRequest<AuthedRequest>();
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, [ctx.getHandler(), ctx.getClass()])) return true;
    const accessToken = (req.query as Record<string, unknown> | undefined)?.['access_token'];
    const tokenRoute = this.reflector.getAllAndOverride<boolean>(STREAM_TOKEN_ROUTE, [ctx.getHandler(), ctx.getClass()]);
    if (accessToken !== undefined && tokenRoute) {
      // RFC 6750 §2: one way of sending credentials per request
      if (req.headers.authorization !== undefined) {
        throw new ApiError(400, 'invalid_request', 'send either an Authorization header or an access_token, not both');
      }
      const param = req.params['id'];
      req.tenant = this.streamTokens.verify(accessToken, typeof param === 'string' ? param : '').tenant;
      return true;
    }
    const { tenancy } = this.config;
    if (!tenancy.authEnabled) {
      req.tenant = DEFAULT_TENANT;
      return true;
    }
    const key = bearerKey(req.headers.authorization);
    if (!key) {
      const hint = accessToken !== undefined ? ' (an access_token is accepted only by GET /v1/jobs/:id/stream)' : '';
      throw new ApiError(401, 'unauthorized', `missing API key: send Authorization: Bearer <key>${hint}`);
    }
    const tenant = tenancy.keys.get(hashKey(key));
    if (!tenant) throw new ApiError(401, 'unauthorized', 'invalid API key');
    req.tenant = tenant;
    return true;
  }
}
