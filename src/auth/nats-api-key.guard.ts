/**
 * API-key authentication of the NATS request-reply API: the payload's `api_key` → the key's tenant, with the same
 * lookup as the HTTP guard (api-keys.ts). Handlers read the tenant with {@link NatsTenant}. A payload that is not a
 * JSON object, or whose `api_key` is not a string, is an `invalid_request` (checked first, as HTTP parses the body
 * before the guard runs).
 */
import { Injectable, createParamDecorator, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { z } from 'zod';
import { AppConfig } from '../config/config.js';
import { parsePayload } from '../common/nats-payload.js';
import { tenantOfKey } from './api-keys.js';

const credentials = z.object({ api_key: z.string().optional() }).passthrough();

/** The tenant of each request being handled, by its NATS context (one per message). */
const tenants = new WeakMap<object, string>();

function natsContext(ctx: ExecutionContext): object {
  const c: unknown = ctx.switchToRpc().getContext();
  if (c === null || typeof c !== 'object') throw new Error('NATS handler without a message context');
  return c;
}

@Injectable()
export class NatsApiKeyGuard implements CanActivate {
  constructor(private readonly config: AppConfig) {}

  canActivate(ctx: ExecutionContext): boolean {
    if (ctx.getType() !== 'rpc') return true;
    const { api_key } = parsePayload(credentials, ctx.switchToRpc().getData());
    const tenant = tenantOfKey(this.config.tenancy, api_key, { missingHint: 'send "api_key" in the payload' });
    tenants.set(natsContext(ctx), tenant);
    return true;
  }
}

/** The tenant {@link NatsApiKeyGuard} authenticated for the NATS request of `ctx`. */
export function natsTenantOf(ctx: ExecutionContext): string {
  const tenant = tenants.get(natsContext(ctx));
  if (tenant === undefined) throw new Error('NatsTenant() used without NatsApiKeyGuard');
  return tenant;
}

/** The tenant {@link NatsApiKeyGuard} authenticated for this NATS request (a handler parameter). */
export const NatsTenant = createParamDecorator((_: unknown, ctx: ExecutionContext): string => natsTenantOf(ctx));
