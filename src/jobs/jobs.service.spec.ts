import { describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { START } from '@jobstream/contracts';
import { LiveHub, MemoryEventLog } from '@jobstream/event-log';
import { MemoryAgentCatalog, MemoryJobControl, MemoryJobQueue, QueueUnavailableError } from '@jobstream/job-queue';
import { AgentCatalogService } from '../agents/agent-catalog.service.js';
import { MemoryJobStore } from '@jobstream/job-store';
import { mapError } from '../common/error-mapping.js';
import { frameOf } from '../sse/sse-frames.js';
import { JobStreamService } from './job-stream.service.js';
import { JobsService } from './jobs.service.js';

describe('JobsService.create under partial failure', () => {
  it('answers 503 when the dispatch fails after the record is stored, and a retry with the same Idempotency-Key repairs the job', async () => {
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
    const hub = new LiveHub<string>(log, frameOf);
    const catalog = new MemoryAgentCatalog();
    await catalog.announce('w1', [{ name: 'echo', description: '', input_schema: { type: 'object' } }], 60_000);
    const jobs = new JobsService(
      store,
      log,
      queue,
      new MemoryJobControl(),
      hub,
      new JobStreamService(log, hub),
      new AgentCatalogService(catalog),
    );
    const body = { agent: 'echo', input: { message: 'hi there' } };

    const failed = await jobs.create('acme', body, 'key-1').then(
      () => null,
      (e: unknown) => e,
    );
    expect(mapError(failed)).toMatchObject({
      status: 503,
      headers: { 'Retry-After': '2' },
      body: { error: { code: 'service_unavailable' } },
    });
    const [stuck] = (await store.list('acme', { limit: 10 })).items;
    expect(stuck).toMatchObject({ status: 'queued', dispatched_at: null });
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
});
