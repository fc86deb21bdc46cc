/** The Durable Streams bytes quota per tenant on the production engine: frames in JetStream, metadata in Redis. */
import { afterAll, beforeAll, describe } from '@jest/globals';
import { startNats, startRedis, type RunningNats, type RunningServer } from '../harness/servers.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { DS_QUOTA_ENV, dsBytesQuotaTests } from '../support/ds-quota.js';

const A = 'ds-quota-key-aaaa';
const B = 'ds-quota-key-bbbb';

describe('Durable Streams bytes quota (JetStream + Redis)', () => {
  let nats: RunningNats;
  let redis: RunningServer;
  let app: TestApp;
  beforeAll(async () => {
    [nats, redis] = await Promise.all([startNats(), startRedis()]);
    app = await startTestApp({
      NATS_URL: nats.url,
      REDIS_URL: redis.url,
      EMBEDDED_WORKER: 'true',
      API_KEYS: `acme:${A},globex:${B}`,
      ...DS_QUOTA_ENV,
    });
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await Promise.all([nats?.destroy(), redis?.destroy()]);
  });

  dsBytesQuotaTests(() => app, A, B);
});
