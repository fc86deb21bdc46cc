/**
 * The Durable Streams server conformance suite (332 tests by the protocol's authors) against the embedded engine,
 * run by its own CLI through a proxy that adds the tenant's API key.
 */
import { afterAll, beforeAll, describe, it } from '@jest/globals';
import { startTestApp, type TestApp } from '../support/app.js';
import { expectDsConformance } from '../support/ds-conformance.js';

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
    await expectDsConformance(app.url, KEY, 'embedded');
  }, 600_000);
});
