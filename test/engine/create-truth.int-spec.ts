/**
 * A create's answer is the truth, on JetStream + Redis with a dependency failing mid-create: a create answered 503
 * leaves no job that will run — even when its record write, delayed behind a paused Redis, lands after the answer —
 * and a retry with its Idempotency-Key gets the one job; a create whose record is durable answers 201 though its
 * dispatch failed (NATS down), and the sweep dispatches it.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { connect } from '@nats-io/transport-node';
import { API_SUBJECTS } from '@jobstream/contracts';
import { createClient } from '@jobstream/sdk';
import { WatchdogService } from '../../src/watchdog/watchdog.service.js';
import { startNatsTestApp, type NatsTestApp } from '../support/nats-app.js';
import { waitFor } from '../support/wait.js';

describe('a create answered with an error leaves no job that runs (JetStream + Redis)', () => {
  let app: NatsTestApp;
  let raw: Redis;
  beforeAll(async () => {
    app = await startNatsTestApp();
    raw = new Redis(app.redis.url);
  });
  afterAll(async () => {
    raw?.disconnect();
    await app?.close();
  });
  /** The dispatch sweep run as if a minute had passed: far past its grace, so it dispatches every stranded job. */
  const sweep = () => app.app.get(WatchdogService).watchdog.sweep(Date.now() + 60_000);
  const jobKeys = async () => (await raw.keys('jobstream:job:*')).sort();
  /** Pauses Redis writes (the job store's scripts) for `ms`: a write sent meanwhile is applied when it ends. */
  const pauseWrites = (ms: number) => raw.call('CLIENT', 'PAUSE', String(ms), 'WRITE');
  /** The record write of a failed create, if it landed, landed (and was undone) once the create was abandoned. */
  const abandoned = () =>
    waitFor(async () => (await raw.keys('jobstream:abandoned:*')).length > 0, {
      timeoutMs: 15_000,
      message: 'the failed create to be abandoned in the store',
    });

  it('a create whose record write outlives its answer (paused Redis) answers 503; the late write never runs; the keyed retry gets one job', async () => {
    const before = await jobKeys();
    await pauseWrites(3_500);
    const body = { agent: 'echo', input: { message: 'answered 503' } };
    const failed = await app.api('/v1/jobs', { body, headers: { 'Idempotency-Key': 'truth-1' } });
    expect(failed.status).toBe(503);
    expect(failed.headers.get('retry-after')).not.toBeNull();
    await abandoned();
    await sweep();
    expect(await jobKeys()).toEqual(before);
    expect((await app.api('/v1/jobs?limit=100')).body.items).toEqual([]);
    // the SDK retries with the same key: one job, run once
    const client = createClient({ baseUrl: app.url });
    const job = await client.jobs.create(body, { idempotencyKey: 'truth-1' });
    expect((await app.api(`/v1/jobs/${job.id}/wait?timeout_s=20`)).body.status).toBe('completed');
    const items = (await app.api('/v1/jobs?limit=100')).body.items as { id: string }[];
    expect(items.map((j) => j.id)).toEqual([job.id]);
  });

  it('a thread turn whose record write outlives its answer answers 503 and never runs', async () => {
    const thread = (await app.api('/v1/threads', { body: { agent: 'echo' } })).body.id as string;
    const before = await jobKeys();
    const tombstones = await raw.keys('jobstream:abandoned:*');
    if (tombstones.length > 0) await raw.del(...tombstones);
    await pauseWrites(3_500);
    const failed = await app.api(`/v1/threads/${thread}/jobs`, { body: { input: { message: 'answered 503' } } });
    expect(failed.status).toBe(503);
    await abandoned();
    await sweep();
    expect(await jobKeys()).toEqual(before);
    // the thread is free: the next turn is turn 1's successor and runs
    const next = await app.api(`/v1/threads/${thread}/jobs`, { body: { input: { message: 'runs' } } });
    expect(next.status).toBe(201);
    expect((await app.api(`/v1/jobs/${next.body.id}/wait?timeout_s=20`)).body.status).toBe('completed');
    const turns = (await app.api(`/v1/threads/${thread}/jobs`)).body.items as { id: string }[];
    expect(turns.map((j) => j.id)).toEqual([next.body.id]);
  });

  it('batch items and NATS creates whose record write outlives the answer: errors, and nothing runs', async () => {
    const before = await jobKeys();
    const clearTombstones = async () => {
      const keys = await raw.keys('jobstream:abandoned:*');
      if (keys.length > 0) await raw.del(...keys);
    };
    await clearTombstones();
    await pauseWrites(3_500);
    const batch = await app.api('/v1/jobs/batch', {
      body: {
        jobs: [
          { agent: 'echo', input: { message: 'item one' } },
          { agent: 'echo', input: { message: 'two' } },
        ],
      },
    });
    expect(batch.status).toBe(503); // every item failed: the batch as a whole
    await waitFor(async () => (await raw.keys('jobstream:abandoned:*')).length === 2, {
      timeoutMs: 15_000,
      message: 'both items abandoned',
    });
    await clearTombstones();
    const nc = await connect({ servers: app.nats.url });
    try {
      await pauseWrites(3_500);
      const m = await nc.request(
        API_SUBJECTS.create,
        new TextEncoder().encode(JSON.stringify({ agent: 'echo', input: { message: 'over nats' } })),
        { timeout: 10_000 },
      );
      expect(JSON.parse(new TextDecoder().decode(m.data))).toMatchObject({ error: { code: 'service_unavailable' } });
    } finally {
      await nc.close();
    }
    await abandoned();
    await sweep();
    expect(await jobKeys()).toEqual(before);
  });

  it('a create whose record is durable answers 201 though its dispatch failed (NATS down); the sweep runs it', async () => {
    await app.nats.stop('SIGKILL');
    const created = await app.api('/v1/jobs', { body: { agent: 'echo', input: { message: 'recorded' } } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ status: 'queued', id: expect.any(String) });
    await app.nats.restart();
    await waitFor(
      async () => {
        await sweep().catch(() => {});
        return (await app.api(`/v1/jobs/${created.body.id}`)).body.status === 'completed';
      },
      { timeoutMs: 25_000, message: 'the recorded job to be dispatched by the sweep and complete' },
    );
  }, 60_000);
});
