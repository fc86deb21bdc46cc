import { afterAll, beforeAll } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { startRedis, type RunningServer } from '../../../test/harness/servers.js';
import { RedisWebhookStore } from './redis-webhook-store.js';
import { webhookStoreConformance } from './testing/webhook-store.conformance.js';

let redis: RunningServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.destroy();
});

// each test gets its own key prefix on the one private redis-server
webhookStoreConformance('redis', () =>
  RedisWebhookStore.create({ url: redis.url, retentionMs: 3_600_000, prefix: `t:${randomUUID()}:` }),
);
