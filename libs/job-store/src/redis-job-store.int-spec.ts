import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { newJobId } from '@jobstream/contracts';
import { waitFor } from '../../contracts/src/testing/wait.js';
import { startRedis, type RunningServer } from '../../../test/harness/servers.js';
import { redisForFile } from '../../../test/harness/file-redis.js';
import { JobStoreUnavailableError } from './job-store.port.js';
import { RedisJobStore } from './redis-job-store.js';
import { jobRecord, jobStoreConformance } from './testing/job-store.conformance.js';

const redis = redisForFile();

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

describe('RedisJobStore with replica acknowledgements', () => {
  let primary: RunningServer;
  let replica: RunningServer;
  let raw: Redis;
  const acked = async () => {
    await raw.set('probe', String(Date.now()));
    return (await raw.wait(1, 200)) === 1;
  };
  beforeAll(async () => {
    primary = await startRedis();
    replica = await startRedis({ replicaOf: primary.port });
    raw = new Redis(primary.url);
    await waitFor(acked, { timeoutMs: 10_000, message: 'the replica to sync' });
  });
  afterAll(async () => {
    raw?.disconnect();
    await Promise.all([primary?.destroy(), replica?.destroy()]);
  });
  const ack = { replicas: 1, timeoutMs: 2_000 };

  // the same contract when every acknowledged write waits for the replica
  jobStoreConformance('redis (replica acks)', async (opts) =>
    RedisJobStore.create({ ...opts, url: primary.url, prefix: `${prefix}ack:`, replicaAck: ack }),
  );

  it('without the replica: acknowledged writes fail as unavailable (landed on the primary), the others go on', async () => {
    const store = await RedisJobStore.create({
      url: primary.url,
      prefix: 'acks:',
      retentionMs: 60_000,
      idempotencyTtlMs: 60_000,
      replicaAck: { replicas: 1, timeoutMs: 200 },
    });
    const running = jobRecord();
    await store.create(running);
    await replica.stop();
    await waitFor(async () => (await raw.wait(1, 50)) === 0, { message: 'the primary to lose its replica' });

    const job = jobRecord({ idempotency_key: 'idem-1' });
    await expect(store.create(job, { key: 'idem-1', fingerprint: 'f' })).rejects.toBeInstanceOf(
      JobStoreUnavailableError,
    );
    // the record is on the primary, only its durability is unknown: the API abandons it
    expect((await store.get(job.id))?.status).toBe('queued');
    await expect(store.abandon(job)).rejects.toBeInstanceOf(JobStoreUnavailableError);
    expect(await store.get(job.id)).toBeNull();
    // the tombstone refuses it should the create arrive again; the idempotency key is free for a retry
    await expect(store.create(job)).rejects.toBeInstanceOf(JobStoreUnavailableError);
    expect(await store.get(job.id)).toBeNull();
    expect(await raw.exists('acks:idem:4:acme:idem-1')).toBe(0);
    // a durable update fails the same way; a worker's (not durable) writes go on
    await expect(store.update(running.id, { cancel_reason: 'x' }, { durable: true })).rejects.toBeInstanceOf(
      JobStoreUnavailableError,
    );
    expect((await store.transition(running.id, 'running')).changed).toBe(true);
    expect(await store.heartbeat(running.id, new Date())).toBe(true);

    await replica.restart();
    await waitFor(
      () =>
        store.create(jobRecord()).then(
          () => true,
          () => false,
        ),
      {
        timeoutMs: 10_000,
        message: 'acknowledged creates once the replica is back',
      },
    );
    await store.close();
  });
});
