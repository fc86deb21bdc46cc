import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { newJobId, newThreadId } from '@jobstream/contracts';
import { waitFor } from '../../contracts/src/testing/wait.js';
import { startRedis, type RunningServer } from '../../../test/harness/servers.js';
import { redisForFile } from '../../../test/harness/file-redis.js';
import { RedisThreadStore } from './redis-thread-store.js';
import { newThreadRecord, ThreadStoreUnavailableError } from './thread-store.port.js';
import { threadStoreConformance } from './testing/thread-store.conformance.js';

const redis = redisForFile();

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

describe('RedisThreadStore with replica acknowledgements', () => {
  let primary: RunningServer;
  let replica: RunningServer;
  let raw: Redis;
  beforeAll(async () => {
    primary = await startRedis();
    replica = await startRedis({ replicaOf: primary.port });
    raw = new Redis(primary.url);
    await waitFor(
      async () => {
        await raw.set('probe', String(Date.now()));
        return (await raw.wait(1, 200)) === 1;
      },
      { timeoutMs: 10_000, message: 'the replica to sync' },
    );
  });
  afterAll(async () => {
    raw?.disconnect();
    await Promise.all([primary?.destroy(), replica?.destroy()]);
  });

  // the same contract when creating a thread and beginning a turn wait for the replica
  threadStoreConformance('redis (replica acks)', async (opts) =>
    RedisThreadStore.create({
      ...opts,
      url: primary.url,
      prefix: `${prefix}ack:`,
      replicaAck: { replicas: 1, timeoutMs: 2_000 },
    }),
  );

  it('without the replica: creating a thread and beginning a turn fail as unavailable', async () => {
    const store = await RedisThreadStore.create({
      url: primary.url,
      prefix: 'tacks:',
      idempotencyTtlMs: 60_000,
      replicaAck: { replicas: 1, timeoutMs: 200 },
    });
    const t = newThreadRecord({ id: newThreadId(), tenant: 'ta', agent: 'echo', metadata: null });
    await store.create(t);
    await replica.stop();
    await waitFor(async () => (await raw.wait(1, 50)) === 0, { message: 'the primary to lose its replica' });
    await expect(
      store.create(newThreadRecord({ id: newThreadId(), tenant: 'ta', agent: 'echo', metadata: null })),
    ).rejects.toBeInstanceOf(ThreadStoreUnavailableError);
    await expect(store.beginTurn(t.id, { jobId: newJobId(), ifBusy: 'reject' })).rejects.toBeInstanceOf(
      ThreadStoreUnavailableError,
    );
    await store.close();
  });
});
