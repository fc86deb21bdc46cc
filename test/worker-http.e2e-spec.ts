import { describe, expect, it } from '@jest/globals';
import { startTestApp } from './support/app.js';
import { TENANT_KEY, WORKER_ENV, workerCalls, workerHttpSuite } from './suites/worker-http.suite.js';
import { waitFor } from './support/wait.js';

workerHttpSuite('embedded engine', (env) => startTestApp(env));

describe('HTTP worker protocol at shutdown', () => {
  it('ends a waiting long-poll claim with 204 at once, well before its wait_s', async () => {
    const app = await startTestApp({ ...WORKER_ENV });
    const w = workerCalls(app.api);
    await w.claim(['idle'], 0);
    const started = Date.now();
    const waiting = w.claim(['idle'], 30, 'w-waiting');
    // the claim announces before it waits: once `idle` counts two workers, the claim is in (or about to) wait
    await waitFor(async () => {
      const items = (await app.api('/v1/agents', { headers: { Authorization: `Bearer ${TENANT_KEY}` } })).body.items;
      return items.find((a: { name: string; workers: number }) => a.name === 'idle' && a.workers === 2);
    });
    await app.close();
    const r = await waiting.catch((err: unknown) => ({ status: -1, err }));
    expect(r.status).toBe(204);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
