/** The Durable Streams bytes quota per tenant on the production engine: frames in JetStream, metadata in Redis. */
import { afterAll, beforeAll, describe } from '@jest/globals';
import type { TestApp } from '../support/app.js';
import { startNatsTestApp } from '../support/nats-app.js';
import { DS_QUOTA_ENV, dsBytesQuotaTests } from '../support/ds-quota.js';

const A = 'ds-quota-key-aaaa';
const B = 'ds-quota-key-bbbb';

describe('Durable Streams bytes quota (JetStream + Redis)', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startNatsTestApp({
      API_KEYS: `acme:${A},globex:${B}`,
      ...DS_QUOTA_ENV,
    });
  }, 60_000);
  afterAll(async () => {
    await app?.close();
  });

  dsBytesQuotaTests(() => app, A, B);
});
