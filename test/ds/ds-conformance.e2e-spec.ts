/**
 * The Durable Streams server conformance suite (332 tests by the protocol's authors) against the embedded engine,
 * run by its own CLI through a proxy that adds the tenant's API key.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestApp, type TestApp } from '../support/app.js';
import { runDsConformance } from '../support/ds-conformance.js';

const KEY = 'ds-conformance-key-1';

describe('Durable Streams conformance (embedded engine)', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ API_KEYS: `acme:${KEY}`, DS_LONG_POLL_MS: '1000', CORS_ORIGINS: '*' });
  });
  afterAll(async () => {
    await app.close();
  });

  it('passes every test of @durable-streams/server-conformance-tests', async () => {
    const r = await runDsConformance(app.url, KEY);
    console.log(
      `durable streams conformance (embedded): ${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped of ${r.total} in ${r.seconds.toFixed(1)} s` +
        (r.failures.length ? `\nfailed:\n  ${r.failures.join('\n  ')}` : ''),
    );
    if (process.env.DS_CONFORMANCE_OUT)
      (await import('node:fs')).writeFileSync(process.env.DS_CONFORMANCE_OUT, r.output);
    if (r.total === 0) console.log(r.output.slice(-4000));
    expect(r.total).toBeGreaterThan(300);
    expect(r.failures).toEqual([]);
    expect(r.failed).toBe(0);
  }, 600_000);
});
