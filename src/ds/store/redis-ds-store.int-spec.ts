import { redisForFile } from '../../../test/harness/file-redis.js';
import { dsStoreConformance } from './testing/ds-store.conformance.js';
import { RedisDsStore } from './redis-ds-store.js';

const redis = redisForFile();

// each handle with its own connection (two processes)
dsStoreConformance('redis', () => {
  return Promise.resolve(new RedisDsStore(redis.client()));
});
