import { describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { newJobId, newThreadId } from '@jobstream/contracts';
import { MemoryJobQueue, type QueuedJob } from '@jobstream/job-queue';
import { MemoryJobStore, newJobRecord } from '@jobstream/job-store';
import { MemoryThreadStore, newThreadRecord } from '@jobstream/thread-store';
import type { AppConfig } from '../config/config.js';
import { ThreadAdvancer } from '@jobstream/job-domain';
import { ThreadSweeper } from './thread-sweeper.js';
import type { ThreadsService } from './threads.service.js';

describe('ThreadSweeper', () => {
  it('repairs threads whose advancing process died: ended active job, or a chosen job never handed to the queue', async () => {
    // a raw store: nothing advances threads on its own, as if the process that ended the job died right after
    const jobs = new MemoryJobStore({ retentionMs: 60_000, idempotencyTtlMs: 60_000 });
    const threads = new MemoryThreadStore({ idempotencyTtlMs: 60_000 });
    const queue = new MemoryJobQueue();
    const delivered: string[] = [];
    void queue.consume(async (q: QueuedJob) => void delivered.push(q.jobId), { concurrency: 10, agents: ['echo'] });
    const advancer = new ThreadAdvancer(threads, jobs, queue);
    const interrupted: string[] = [];
    const service = {
      advancer,
      interrupt: async (_tenant: string, id: string) => void interrupted.push(id),
    } as unknown as ThreadsService;
    const sweeper = new ThreadSweeper(threads, jobs, service, { jobStallTimeoutMs: 1_000 } as AppConfig);

    const t = newThreadRecord({ id: newThreadId(), tenant: 't', agent: 'echo', metadata: null });
    await threads.create(t);
    const ids = [newJobId(), newJobId()];
    for (const id of ids) {
      await jobs.create(
        newJobRecord({ id, tenant: 't', agent: 'echo', input: { message: 'x' }, metadata: null, thread_id: t.id }),
      );
      await threads.beginTurn(t.id, { jobId: id, ifBusy: 'enqueue' });
    }
    await advancer.start(t.id, ids[0]!);
    await jobs.transition(ids[0]!, 'running');
    await jobs.transition(ids[0]!, 'completed');
    // within the grace period nothing is touched
    expect(await sweeper.sweep()).toEqual([]);
    expect(await sweeper.sweep(Date.now() + 5_000)).toEqual([t.id]);
    expect(delivered).toEqual([ids[0], ids[1]]);
    expect(await threads.get(t.id)).toMatchObject({ active_job_id: ids[1], active_started: true });
    // chosen but not handed over (the process died between settle and enqueue)
    const t2 = newThreadRecord({ id: newThreadId(), tenant: 't', agent: 'echo', metadata: null });
    await threads.create(t2);
    const j = newJobId();
    await jobs.create(
      newJobRecord({ id: j, tenant: 't', agent: 'echo', input: { message: 'x' }, metadata: null, thread_id: t2.id }),
    );
    await threads.beginTurn(t2.id, { jobId: j, ifBusy: 'reject' });
    expect(await sweeper.sweep(Date.now() + 5_000)).toEqual([t2.id]);
    expect(delivered).toContain(j);
    expect(await sweeper.sweep(Date.now() + 5_000)).toEqual([]);
    // an interrupting turn whose cancel was never asked for: the sweep asks for it, once
    await jobs.transition(j, 'running');
    const k = newJobId();
    await jobs.create(
      newJobRecord({ id: k, tenant: 't', agent: 'echo', input: { message: 'y' }, metadata: null, thread_id: t2.id }),
    );
    expect((await threads.beginTurn(t2.id, { jobId: k, ifBusy: 'interrupt' })).kind).toBe('queued');
    expect(await sweeper.sweep(Date.now() + 5_000)).toEqual([t2.id]);
    expect(interrupted).toEqual([j]);
    await jobs.update(j, { cancel_reason: 'interrupted' });
    expect(await sweeper.sweep(Date.now() + 5_000)).toEqual([]);
    // a waiting turn an interrupt dropped, never cancelled: the sweep cancels it; once ended it leaves the thread
    const t3 = newThreadRecord({ id: newThreadId(), tenant: 't', agent: 'echo', metadata: null });
    await threads.create(t3);
    const [x, y, z] = [newJobId(), newJobId(), newJobId()];
    for (const [id, ifBusy] of [
      [x, 'reject'],
      [y, 'enqueue'],
      [z, 'interrupt'],
    ] as const) {
      await jobs.create(
        newJobRecord({ id, tenant: 't', agent: 'echo', input: { message: id }, metadata: null, thread_id: t3.id }),
      );
      await threads.beginTurn(t3.id, { jobId: id, ifBusy });
    }
    await advancer.start(t3.id, x);
    await jobs.update(x, { cancel_reason: 'interrupted' });
    interrupted.length = 0;
    expect(await sweeper.sweep(Date.now() + 5_000)).toEqual([t3.id]);
    expect(interrupted).toEqual([y]);
    await jobs.transition(y, 'cancelled');
    await sweeper.sweep(Date.now() + 5_000);
    expect((await threads.get(t3.id))?.cancelling).toEqual([]);
  });

  it('goes on past a thread it cannot repair, and logs it with its ids', async () => {
    const jobs = new MemoryJobStore({ retentionMs: 60_000, idempotencyTtlMs: 60_000 });
    const threads = new MemoryThreadStore({ idempotencyTtlMs: 60_000 });
    const queue = new MemoryJobQueue();
    const advancer = new ThreadAdvancer(threads, jobs, queue);
    const service = { advancer, interrupt: async () => {} } as unknown as ThreadsService;
    const ended: string[] = [];
    const ids: { thread: string; job: string }[] = [];
    for (let i = 0; i < 3; i++) {
      const t = newThreadRecord({ id: newThreadId(), tenant: 't', agent: 'echo', metadata: null });
      await threads.create(t);
      const id = newJobId();
      await jobs.create(
        newJobRecord({ id, tenant: 't', agent: 'echo', input: { message: 'x' }, metadata: null, thread_id: t.id }),
      );
      await threads.beginTurn(t.id, { jobId: id, ifBusy: 'reject' });
      await advancer.start(t.id, id);
      await jobs.transition(id, 'running');
      await jobs.transition(id, 'completed');
      ids.push({ thread: t.id, job: id });
    }
    const bad = ids[0]!;
    // the first thread's job record cannot be read; the other two must still be advanced
    const flaky = Object.create(jobs) as MemoryJobStore;
    flaky.get = async (id: string) => {
      if (id === bad.job) throw new Error('READONLY You cannot write against a read only replica');
      ended.push(id);
      return jobs.get(id);
    };
    const sweeper = new ThreadSweeper(threads, flaky, service, { jobStallTimeoutMs: 1_000 } as AppConfig);
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => {});
    try {
      const repaired = await sweeper.sweep(Date.now() + 5_000);
      expect(repaired.sort()).toEqual([ids[1]!.thread, ids[2]!.thread].sort());
      expect(warn).toHaveBeenCalledWith(
        expect.objectContaining({ thread_id: bad.thread, job_id: bad.job, error: expect.stringContaining('READONLY') }),
      );
      for (const { thread } of ids.slice(1)) expect((await threads.get(thread))?.active_job_id).toBeNull();
    } finally {
      warn.mockRestore();
    }
  });
});
