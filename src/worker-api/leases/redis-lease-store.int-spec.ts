import { afterAll, beforeAll } from '@jest/globals';
import { Redis } from 'ioredis';
import { startRedis, type RunningServer } from '../../../test/harness/servers.js';
import { RedisLeaseStore } from './redis-lease-store.js';
import { leaseStoreConformance } from './testing/lease-store.conformance.js';

let redis: RunningServer;
const clients: Redis[] = [];
beforeAll(async () => {
  redis = await startRedis();
}, 30_000);
afterAll(async () => {
  for (const c of clients) c.disconnect();
  await redis?.destroy();
});

leaseStoreConformance('redis', async () => {
  const client = new Redis(redis.url, { lazyConnect: false });
  clients.push(client);
  return new RedisLeaseStore(client, `t${clients.length}:`);
});
