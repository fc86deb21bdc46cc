import { describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { START } from '@jobstream/contracts';
import { LiveHub, MemoryEventLog, ReplaySource } from '@jobstream/event-log';
import { MemoryAgentCatalog, MemoryJobControl, MemoryJobQueue, QueueUnavailableError } from '@jobstream/job-queue';
import { AgentCatalogService } from '../agents/agent-catalog.service.js';
import { JobStoreUnavailableError, MemoryJobStore } from '@jobstream/job-store';
import { waitFor } from '../../libs/contracts/src/testing/wait.js';
import { mapError } from '../common/error-mapping.js';
import { frameOf } from '../sse/sse-frames.js';
import { JobStreamService } from './job-stream.service.js';
import { JobsService } from './jobs.service.js';

/** A JobsService on these store, log and queue, with the echo agent announced. */
async function jobsOn(store: MemoryJobStore, log: MemoryEventLog, queue: MemoryJobQueue): Promise<JobsService> {
  const hub = new LiveHub<string>(log, frameOf);
  const catalog = new MemoryAgentCatalog();
  await catalog.announce('w1', [{ name: 'echo', description: '', input_schema: { type: 'object' } }], 60_000);
  return new JobsService(
    store,
    log,
    queue,
    new MemoryJobControl(),
    hub,
    new JobStreamService(new ReplaySource(log, hub), hub),
    new AgentCatalogService(catalog),
  );
}

describe('JobsService.create under partial failure', () => {
  it('answers 201 once the record is stored though the dispatch fails (the sweep or a keyed retry dispatches it)', async () => {
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => {});
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => {});
    const log = new MemoryEventLog({ retentionMs: 60_000 });
    const store = new MemoryJobStore({ retentionMs: 60_000, idempotencyTtlMs: 60_000 });
    const queue = new MemoryJobQueue();
    let brokerDown = true;
    const enqueue = queue.enqueue.bind(queue);
    jest.spyOn(queue, 'enqueue').mockImplementation(async (id, opts) => {
      if (brokerDown) throw new QueueUnavailableError('no stream leader for JOBSTREAM_DISPATCH');
      return enqueue(id, opts);
    });
    const jobs = await jobsOn(store, log, queue);
    const body = { agent: 'echo', input: { message: 'hi there' } };

    const recorded = await jobs.create('acme', body, 'key-1');
    expect(recorded).toMatchObject({ created: true, job: { status: 'queued' } });
    const [stuck] = (await store.list('acme', { limit: 10 })).items;
    expect(stuck).toMatchObject({ id: recorded.job.id, status: 'queued', dispatched_at: null });
    expect(queue.depth()).toBe(0);

    brokerDown = false;
    const repaired = await jobs.create('acme', body, 'key-1');
    expect(repaired).toMatchObject({ created: false, job: { id: stuck!.id, status: 'queued' } });
    expect(queue.depth()).toBe(1);
    expect((await store.get(stuck!.id))?.dispatched_at).toEqual(expect.any(String));
    expect((await log.read(stuck!.id, START, 10)).map((e) => e.event)).toMatchObject([
      { seq: 1, type: 'status', status: 'queued' },
    ]);

    // once confirmed, a retry dispatches nothing more
    await jobs.create('acme', body, 'key-1');
    expect(queue.depth()).toBe(1);
    await Promise.all([queue.close(), log.close(), store.close()]);
  });

  it('answers 503 when the record write fails, and undoes a write that landed anyway: nothing runs', async () => {
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => {});
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => {});
    const log = new MemoryEventLog({ retentionMs: 60_000 });
    const store = new MemoryJobStore({ retentionMs: 60_000, idempotencyTtlMs: 60_000 });
    const queue = new MemoryJobQueue();
    const create = store.create.bind(store);
    // the write is applied, its answer lost (a timeout)
    jest.spyOn(store, 'create').mockImplementationOnce(async (job, idem) => {
      await create(job, idem);
      throw new JobStoreUnavailableError('command timed out');
    });
    const jobs = await jobsOn(store, log, queue);
    const body = { agent: 'echo', input: { message: 'hi there' } };
    const failed = await jobs.create('acme', body, 'key-2').then(
      () => null,
      (e: unknown) => e,
    );
    expect(mapError(failed)).toMatchObject({ status: 503 });
    await waitFor(async () => (await store.list('acme', { limit: 10 })).items.length === 0, {
      message: 'the landed record to be abandoned',
    });
    expect(queue.depth()).toBe(0);
    // a retry with the key: one job
    const retried = await jobs.create('acme', body, 'key-2');
    expect(retried.created).toBe(true);
    expect((await store.list('acme', { limit: 10 })).items.map((j) => j.id)).toEqual([retried.job.id]);
    await Promise.all([queue.close(), log.close(), store.close()]);
  });
});
