import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { newJobId, newThreadId } from '@jobstream/contracts';
import { startRedis, type RunningServer } from '../../../test/harness/servers.js';
import { RedisThreadStore } from './redis-thread-store.js';
import { newThreadRecord } from './thread-store.port.js';
import { threadStoreConformance } from './testing/thread-store.conformance.js';

let redis: RunningServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.destroy();
});

const prefix = `t${Date.now()}:`;
threadStoreConformance('redis', async (opts) => RedisThreadStore.create({ ...opts, url: redis.url, prefix }));

describe('RedisThreadStore keys', () => {
  it('leaves no key or set member of a deleted thread', async () => {
    const store = await RedisThreadStore.create({ url: redis.url, prefix: 'del:', idempotencyTtlMs: 60_000 });
    const raw = new Redis(redis.url);
    const t = newThreadRecord({ id: newThreadId(), tenant: 'dt', agent: 'echo', metadata: { a: 1 } });
    await store.create(t);
    const j = newJobId();
    await store.beginTurn(t.id, { jobId: j, ifBusy: 'reject', idempotency: { key: 'k', fingerprint: 'f' } });
    expect((await raw.keys('del:*')).sort()).toEqual(
      [
        'del:thread:' + t.id,
        `del:thread:${t.id}:idem`,
        `del:thread:${t.id}:jobs`,
        'del:threads:busy',
        'del:threads:dt',
      ].sort(),
    );
    await store.settle(t.id, j);
    expect(await store.delete(t.id)).toEqual({ kind: 'deleted', job_ids: [j] });
    expect(await raw.keys('del:*')).toEqual([]);
    raw.disconnect();
    await store.close();
  });

  it('frees the external name of a deleted thread', async () => {
    const store = await RedisThreadStore.create({ url: redis.url, prefix: 'ext:', idempotencyTtlMs: 60_000 });
    const raw = new Redis(redis.url);
    const t = newThreadRecord({ id: newThreadId(), tenant: 'et', agent: 'echo', metadata: null, external_id: 'x' });
    await store.ensureExternal(t as typeof t & { external_id: string });
    expect(await raw.hgetall('ext:threads-ext:et')).toEqual({ x: t.id });
    expect(await store.delete(t.id)).toEqual({ kind: 'deleted', job_ids: [] });
    expect(await raw.keys('ext:*')).toEqual([]);
    raw.disconnect();
    await store.close();
  });
});
