import { describe, expect, it } from '@jest/globals';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import { NatsContext } from '@nestjs/microservices';
import { loadConfig } from '../config/config.js';
import { hashKey } from '../config/key-hash.js';
import { RejectedPayload } from '../common/nats-transport.js';
import { NatsApiKeyGuard, natsTenantOf } from './nats-api-key.guard.js';

const KEY = 'key-acme-123';

function rpc(data: unknown): ExecutionContextHost {
  const ctx = new ExecutionContextHost([data, new NatsContext(['jobstream.api.jobs.get', undefined])]);
  ctx.setType('rpc');
  return ctx;
}

function guard(env: Record<string, string>): NatsApiKeyGuard {
  return new NatsApiKeyGuard(loadConfig(env, hashKey));
}

const errorOf = (fn: () => unknown): unknown => {
  try {
    fn();
  } catch (err) {
    return (err as { getResponse(): unknown; getStatus(): number }).getResponse();
  }
  throw new Error('no error');
};

describe('NatsApiKeyGuard', () => {
  const authed = guard({ API_KEYS: `acme:${KEY}` });

  it("gives the handler the payload key's tenant, per request", () => {
    const a = rpc({ api_key: KEY, id: 'x' });
    expect(authed.canActivate(a)).toBe(true);
    expect(natsTenantOf(a)).toBe('acme');
    expect(() => natsTenantOf(rpc({ api_key: KEY }))).toThrow(/without NatsApiKeyGuard/);
  });

  it('answers a missing or unknown key with the documented unauthorized errors', () => {
    expect(errorOf(() => authed.canActivate(rpc({ id: 'x' })))).toEqual({
      error: { code: 'unauthorized', message: 'missing API key: send "api_key" in the payload' },
    });
    expect(errorOf(() => authed.canActivate(rpc({ api_key: '' })))).toMatchObject({ error: { code: 'unauthorized' } });
    expect(errorOf(() => authed.canActivate(rpc({ api_key: 'wrong' })))).toEqual({
      error: { code: 'unauthorized', message: 'invalid API key' },
    });
  });

  it('refuses a payload that is not a JSON object, or a non-string key, with invalid_request first', () => {
    for (const bad of [undefined, null, 7, 'x', [1], new RejectedPayload('JSON nested deeper than 32 levels')]) {
      expect(errorOf(() => authed.canActivate(rpc(bad)))).toMatchObject({ error: { code: 'invalid_request' } });
    }
    expect(errorOf(() => authed.canActivate(rpc({ api_key: 7 })))).toMatchObject({
      error: { code: 'invalid_request', message: expect.stringContaining('api_key') },
    });
  });

  it('is the default tenant with auth off, whatever key is sent', () => {
    const open = guard({});
    const a = rpc({ api_key: 'anything' });
    expect(open.canActivate(a)).toBe(true);
    expect(natsTenantOf(a)).toBe('default');
  });

  it('lets HTTP requests through (the HTTP guard handles those)', () => {
    const http = new ExecutionContextHost([{}, {}]);
    expect(authed.canActivate(http)).toBe(true);
  });
});
