/**
 * The app a shared e2e suite runs against: two tenants (acme and globex), started before the describe block's tests
 * and closed after, with request helpers that act as one tenant.
 */
import { afterAll, beforeAll } from '@jest/globals';
import type { TestApp } from './app.js';

export const ACME = 'acme-key-0001';
export const GLOBEX = 'globex-key-0002';
export const auth = (key: string) => ({ Authorization: `Bearer ${key}` });

/**
 * Starts the app with both tenants (and `env`) in the calling describe block's beforeAll, closes it in its afterAll.
 * The returned app stands for the started one (use it inside tests and hooks, not while the block is collected).
 */
export function twoTenantApp(
  start: (env: Record<string, string>) => Promise<TestApp>,
  env: Record<string, string>,
): TestApp {
  let app: TestApp | undefined;
  beforeAll(async () => {
    app = await start({ API_KEYS: `acme:${ACME},globex:${GLOBEX}`, ...env });
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

/** Requests to `app` with one tenant's key. */
export function asTenant(app: TestApp, key: string) {
  return {
    post: (path: string, body: unknown, headers: Record<string, string> = {}) =>
      app.api(path, { body, headers: { ...auth(key), ...headers } }),
    get: (path: string) => app.api(path, { headers: auth(key) }),
    del: (path: string) => app.api(path, { method: 'DELETE', headers: auth(key) }),
  };
}
