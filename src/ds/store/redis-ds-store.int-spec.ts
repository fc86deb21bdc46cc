import { afterAll, beforeAll } from '@jest/globals';
import { Redis } from 'ioredis';
import { startRedis, type RunningServer } from '../../../test/harness/servers.js';
import { dsStoreConformance } from './testing/ds-store.conformance.js';
import { RedisDsStore } from './redis-ds-store.js';

let redis: RunningServer;
const clients: Redis[] = [];
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  for (const c of clients) c.disconnect();
  await redis.destroy();
});

// each handle with its own connection (two processes)
dsStoreConformance('redis', () => {
  const c = new Redis(redis.url);
  clients.push(c);
  return Promise.resolve(new RedisDsStore(c));
});
