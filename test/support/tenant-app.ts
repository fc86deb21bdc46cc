/**
 * The app a describe block of an e2e suite runs against, started before its tests and closed after; the two tenants
 * (acme and globex) most suites use, with request helpers that act as one of them.
 */
import { afterAll, beforeAll, expect } from '@jest/globals';
import type { TestApp } from './app.js';

export const ACME = 'acme-key-0001';
export const GLOBEX = 'globex-key-0002';
export const auth = (key: string) => ({ Authorization: `Bearer ${key}` });

/**
 * Starts the app with `env` in the calling describe block's beforeAll and closes it in its afterAll. The returned app
 * stands for the started one (use it inside tests and hooks, not while the block is collected).
 */
export function appForBlock(
  start: (env: Record<string, string>) => Promise<TestApp>,
  env: Record<string, string>,
): TestApp {
  let app: TestApp | undefined;
  beforeAll(async () => {
    app = await start(env);
  });
  afterAll(async () => {
    await app?.close();
  });
  return new Proxy({} as TestApp, {
    get(_, key) {
      if (!app) throw new Error('the app is not started yet');
      const value: unknown = Reflect.get(app, key);
      return typeof value === 'function' ? value.bind(app) : value;
    },
  });
}

/** appForBlock with both tenants, acme and globex, and `env`. */
export function twoTenantApp(
  start: (env: Record<string, string>) => Promise<TestApp>,
  env: Record<string, string>,
): TestApp {
  return appForBlock(start, { API_KEYS: `acme:${ACME},globex:${GLOBEX}`, ...env });
}

/** Requests to `app` with one tenant's key. */
export function asTenant(app: TestApp, key: string) {
  return {
    post: (path: string, body: unknown, headers: Record<string, string> = {}) =>
      app.api(path, { body, headers: { ...auth(key), ...headers } }),
    get: (path: string) => app.api(path, { headers: auth(key) }),
    del: (path: string) => app.api(path, { method: 'DELETE', headers: auth(key) }),
  };
}

/** Creates an echo job with `input` (no key: an app without API keys) and expects 201. */
export async function createEchoJob(app: TestApp, input: Record<string, unknown>) {
  const r = await app.api('/v1/jobs', { body: { agent: 'echo', input } });
  expect(r.status).toBe(201);
  return r.body as { id: string; stream_url: string };
}
