/**
 * API-key authentication: `Authorization: Bearer <key>` → the key's tenant, set on the request. Keys are compared
 * as SHA-256 digests and never logged. With auth off (no API_KEYS), every request is the default tenant.
 *
 * Handlers marked {@link AcceptsStreamToken} (only the SSE stream) also take a browser stream token as
 * `?access_token=` instead of the header; a token given there is always checked, even with auth off. Every other
 * handler ignores `access_token` (without an API key it is a 401 that says where tokens belong).
 */
import {
  Inject,
  Injectable,
  Optional,
  SetMetadata,
  createParamDecorator,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { ApiError } from '../common/api-error.js';
import { AppConfig } from '../config/config.js';
import { hashKey } from '../config/key-hash.js';
import type { ShareRecord, ShareStore } from '@jobstream/share-store';
import { SHARE_STORE } from '../engine/engine.constants.js';
import { verifyShareToken } from '../shares/share-token.js';
import { tenantOfKey } from './api-keys.js';
import { DEFAULT_TENANT, PUBLIC_ROUTE, SHARE_TOKEN_ROUTE, STREAM_TOKEN_ROUTE } from './auth.constants.js';
import { AuthFailures } from './auth-failures.js';
import { StreamTokenService } from './stream-token.service.js';

export interface AuthedRequest extends Request {
  tenant?: string;
  /** The share link the request was authorized by (`?share_token=`), if any. */
  share?: ShareRecord;
}

export const Public = () => SetMetadata(PUBLIC_ROUTE, true);
/** The handler accepts a stream token for its `:id` job as `?access_token=` (read-only SSE streams only). */
export const AcceptsStreamToken = () => SetMetadata(STREAM_TOKEN_ROUTE, true);

/** The handler accepts a share link token for its `:id` job as `?share_token=` (GET job, events, stream only). */
export const AcceptsShareToken = () => SetMetadata(SHARE_TOKEN_ROUTE, true);

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
    @Optional() @Inject(SHARE_STORE) private readonly shares?: ShareStore,
    @Optional() private readonly failures?: AuthFailures,
  ) {}

  canActivate(ctx: ExecutionContext): boolean | Promise<boolean> {
    if (ctx.getType() !== 'http') return true;
    const req = ctx.switchToHttp().getRequest<AuthedRequest>();
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, [ctx.getHandler(), ctx.getClass()])) return true;
    const shareToken = (req.query as Record<string, unknown> | undefined)?.['share_token'];
    if (shareToken !== undefined) return this.shareAccess(ctx, req, shareToken);
    const accessToken = (req.query as Record<string, unknown> | undefined)?.['access_token'];
    const tokenRoute = this.reflector.getAllAndOverride<boolean>(STREAM_TOKEN_ROUTE, [
      ctx.getHandler(),
      ctx.getClass(),
    ]);
    if (accessToken !== undefined && tokenRoute) {
      // RFC 6750 §2: one way of sending credentials per request
      if (req.headers.authorization !== undefined) {
        throw new ApiError(400, 'invalid_request', 'send either an Authorization header or an access_token, not both');
      }
      const param = req.params['id'];
      req.tenant = this.streamTokens.verify(accessToken, typeof param === 'string' ? param : '').tenant;
      return true;
    }
    const { tenancy, workerApi } = this.config;
    const sent = bearerKey(req.headers.authorization);
    if (sent && workerApi.enabled && workerApi.keys.has(hashKey(sent))) {
      throw new ApiError(403, 'forbidden', 'a worker key (WORKER_KEYS) is accepted only under /v1/worker/');
    }
    const hint = accessToken !== undefined ? ' (an access_token is accepted only by GET /v1/jobs/:id/stream)' : '';
    req.tenant = tenantOfKey(tenancy, sent, {
      missingHint: `send Authorization: Bearer <key>${hint}`,
      failures: this.failures,
      address: req.ip ?? req.socket?.remoteAddress ?? '',
    });
    return true;
  }

  /**
   * A share link token (`?share_token=`): read-only access to the `:id` job on the routes marked
   * {@link AcceptsShareToken}; checked against the share store on every use (revocation holds at once everywhere).
   */
  private async shareAccess(ctx: ExecutionContext, req: AuthedRequest, token: unknown): Promise<boolean> {
    const route = this.reflector.getAllAndOverride<boolean>(SHARE_TOKEN_ROUTE, [ctx.getHandler(), ctx.getClass()]);
    if (!route || req.method !== 'GET' || !this.shares) {
      throw new ApiError(
        401,
        'unauthorized',
        'a share_token is accepted only by GET /v1/jobs/:id, /events and /stream',
      );
    }
    if (
      req.headers.authorization !== undefined ||
      (req.query as Record<string, unknown>)['access_token'] !== undefined
    ) {
      throw new ApiError(
        400,
        'invalid_request',
        'send one credential: an Authorization header, an access_token or a share_token',
      );
    }
    const param = req.params['id'];
    const share = await verifyShareToken(this.shares, token, typeof param === 'string' ? param : '');
    req.tenant = share.tenant;
    req.share = share;
    return true;
  }
}
