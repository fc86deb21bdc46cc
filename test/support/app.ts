/** Boots the real API in-process on a free port for e2e tests (the same bootstrap as `npm start`). */
import 'reflect-metadata';
import { startApp, type RunningApp } from '../../src/bootstrap.js';
import { loadConfig } from '../../src/config/config.js';
import { hashKey } from '../../src/config/key-hash.js';

export interface TestApp extends RunningApp {
  /** fetch against the app with JSON helpers. */
  api(
    path: string,
    init?: { method?: string; body?: unknown; headers?: Record<string, string> },
  ): Promise<{ status: number; headers: Headers; body: any }>;
}

export async function startTestApp(env: Record<string, string> = {}): Promise<TestApp> {
  const config = loadConfig({ LOG_LEVEL: 'silent', HOST: '127.0.0.1', ...env }, hashKey);
  const running = await startApp(config, { port: 0, logger: false });
  return {
    ...running,
    async api(path, init = {}) {
      const res = await fetch(running.url + path, {
        method: init.method ?? (init.body !== undefined ? 'POST' : 'GET'),
        headers: { ...(init.body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...init.headers },
        body:
          init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : JSON.stringify(init.body),
      });
      const text = await res.text();
      let body: unknown = text;
      try {
        body = text ? JSON.parse(text) : null;
      } catch {
        /* keep text */
      }
      return { status: res.status, headers: res.headers, body };
    },
  };
}
