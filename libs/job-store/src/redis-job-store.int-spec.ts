import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { newJobId } from '@jobstream/contracts';
import { waitFor } from '../../contracts/src/testing/wait.js';
import { startRedis, type RunningServer } from '../../../test/harness/servers.js';
import { JobStoreUnavailableError } from './job-store.port.js';
import { RedisJobStore } from './redis-job-store.js';
import { jobRecord, jobStoreConformance } from './testing/job-store.conformance.js';

let redis: RunningServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.destroy();
});

// Each handle is its own client (two handles = two processes); every suite run gets a fresh key prefix.
const prefix = `t${Date.now()}:`;
jobStoreConformance('redis', async (opts) => RedisJobStore.create({ ...opts, url: redis.url, prefix }));

describe('RedisJobStore keys', () => {
  it("sweeps expired finished jobs out of the tenant's list sets", async () => {
    const store = await RedisJobStore.create({
      url: redis.url,
      prefix: 'sweep:',
      retentionMs: 100,
      idempotencyTtlMs: 60_000,
      sweepIntervalMs: 3_600_000,
    });
    const raw = new Redis(redis.url);
    const done = jobRecord({ tenant: 'sw', status: 'running' });
    const live = jobRecord({ tenant: 'sw' });
    await store.create(done);
    await store.create(live);
    await store.transition(done.id, 'failed');
    expect(await raw.zcard('sweep:list:all:sw')).toBe(2);
    expect(await raw.pttl(`sweep:job:${done.id}`)).toBeGreaterThan(0);
    expect(await raw.pttl(`sweep:job:${live.id}`)).toBe(-1);
    expect(await store.sweep(Date.now() + 1_000)).toBe(1);
    expect(await raw.zrange('sweep:list:all:sw', '0', '-1')).toEqual([live.id]);
    expect(await raw.zcard('sweep:list:failed:sw')).toBe(0);
    raw.disconnect();
    await store.close();
  });
});

describe('RedisJobStore availability', () => {
  it('fails fast with JobStoreUnavailableError while Redis is down, and works again once it is back', async () => {
    const store = await RedisJobStore.create({
      url: redis.url,
      prefix: 'avail:',
      retentionMs: 60_000,
      idempotencyTtlMs: 60_000,
    });
    const job = jobRecord();
    await store.create(job);

    await redis.stop('SIGKILL');
    const calls = [
      store.get(job.id),
      store.create(jobRecord()),
      store.transition(job.id, 'running'),
      store.list('acme', { limit: 5 }),
      store.ping(),
    ];
    const settled = await Promise.allSettled(calls);
    for (const s of settled) {
      expect(s.status).toBe('rejected');
      expect((s as PromiseRejectedResult).reason).toBeInstanceOf(JobStoreUnavailableError);
    }
    // They failed while Redis is still down: nothing waited for it to come back (no offline queue). No wall-clock
    // bound here: a store that hung instead would run into the test's timeout.

    await redis.restart();
    // Redis came back empty (no persistence): the same store instance reconnects by itself.
    await waitFor(
      () =>
        store.ping().then(
          () => true,
          (err: unknown) => {
            expect(err).toBeInstanceOf(JobStoreUnavailableError);
            return false;
          },
        ),
      { intervalMs: 50, message: 'the store to reconnect to the restarted Redis' },
    );
    const again = jobRecord();
    expect((await store.create(again)).created).toBe(true);
    expect((await store.transition(again.id, 'running')).changed).toBe(true);
    expect((await store.get(again.id))?.status).toBe('running');
    expect(await store.get(newJobId())).toBeNull();
    await store.close();
  });

  it('refuses to start with JobStoreUnavailableError when nothing listens', async () => {
    await expect(
      RedisJobStore.create({
        url: 'redis://127.0.0.1:1',
        retentionMs: 1000,
        idempotencyTtlMs: 1000,
        connectTimeoutMs: 200,
      }),
    ).rejects.toBeInstanceOf(JobStoreUnavailableError);
  });
});
