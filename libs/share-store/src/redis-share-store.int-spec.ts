import { afterAll, beforeAll } from '@jest/globals';
import { Redis } from 'ioredis';
import { startRedis, type RunningServer } from '../../../test/harness/servers.js';
import { RedisShareStore } from './redis-share-store.js';
import { shareStoreConformance } from './testing/share-store.conformance.js';

let redis: RunningServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.destroy();
});

const prefix = `s${Date.now()}:`;
shareStoreConformance('redis', async () => {
  const client = new Redis(redis.url);
  return new RedisShareStore(client, { prefix }, async () => void client.disconnect());
});
