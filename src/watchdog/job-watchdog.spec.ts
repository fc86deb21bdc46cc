import { describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { START, newJobId } from '@jobstream/contracts';
import { MemoryEventLog } from '@jobstream/event-log';
import { MemoryJobQueue } from '@jobstream/job-queue';
import { MemoryJobStore, newJobRecord, type JobRecord } from '@jobstream/job-store';
import { JobWatchdog, SweepErrors } from './job-watchdog.js';

function record(over: Partial<JobRecord> = {}): JobRecord {
  const now = new Date().toISOString();
  return {
    id: newJobId(),
    tenant: 't',
    agent: 'echo',
    input: { message: 'hi' },
    metadata: null,
    status: 'running',
    created_at: now,
    updated_at: now,
    started_at: now,
    finished_at: null,
    attempt: 2,
    usage: { input_tokens: 3, output_tokens: 1 },
    error: null,
    cancel_reason: null,
    heartbeat_at: now,
    ...over,
  };
}

function setup() {
  const log = new MemoryEventLog({ retentionMs: 60_000 });
  const store = new MemoryJobStore({ retentionMs: 60_000, idempotencyTtlMs: 60_000 });
  return { log, store, watchdog: new JobWatchdog(store, log, { staleAfterMs: 3_000 }) };
}
const ago = (ms: number) => new Date(Date.now() - ms).toISOString();

describe('JobWatchdog', () => {
  it('ends a job whose heartbeat is older than staleAfterMs with a retryable worker_lost, and settles the store', async () => {
    const { log, store, watchdog } = setup();
    const stale = record({ heartbeat_at: ago(10_000) });
    const fresh = record({ heartbeat_at: ago(100) });
    const queued = record({ status: 'queued', heartbeat_at: null, updated_at: ago(60_000) });
    for (const j of [stale, fresh, queued]) await store.create(j);
    await log.append(stale.id, { event: { type: 'token', text: 'half' }, attempt: 2 });

    expect(await watchdog.sweep()).toEqual([stale.id]);
    const last = (await log.last(stale.id))!.event;
    expect(last).toMatchObject({
      type: 'error',
      code: 'worker_lost',
      retryable: true,
      attempt: 2,
      usage: { input_tokens: 3, output_tokens: 1 },
    });
    expect(await store.get(stale.id)).toMatchObject({
      status: 'failed',
      error: { code: 'worker_lost' },
      finished_at: last.ts,
    });
    expect((await store.get(fresh.id))?.status).toBe('running');
    expect((await store.get(queued.id))?.status).toBe('queued');
    expect(await watchdog.sweep()).toEqual([]);
  });

  it('settles the store from the log when the job already ended there', async () => {
    const { log, store, watchdog } = setup();
    const job = record({ heartbeat_at: ago(10_000) });
    await store.create(job);
    await log.append(job.id, {
      event: { type: 'done', usage: { input_tokens: 1, output_tokens: 2 }, output: { text: 'ok' } },
      attempt: 2,
    });
    await watchdog.sweep();
    expect((await log.read(job.id, START, 10)).map((e) => e.event.type)).toEqual(['done']);
    expect(await store.get(job.id)).toMatchObject({
      status: 'completed',
      usage: { input_tokens: 1, output_tokens: 2 },
    });
  });

  it('appends one terminal event when several watchdogs sweep at once', async () => {
    const { log, store } = setup();
    const job = record({ heartbeat_at: ago(10_000) });
    await store.create(job);
    const dogs = [1, 2, 3].map(() => new JobWatchdog(store, log, { staleAfterMs: 3_000 }));
    await Promise.all(dogs.map((d) => d.sweep()));
    const events = await log.read(job.id, START, 10);
    expect(events.map((e) => e.event.type)).toEqual(['error']);
    expect((await store.get(job.id))?.status).toBe('failed');
  });

  it('goes on past a job it cannot end, and ends a job whose log is on a newer attempt than its record', async () => {
    const { log, store } = setup();
    // a worker died between appending attempt 3 and writing it to the store: the record still says attempt 2
    const ahead = record({ heartbeat_at: ago(30_000) });
    const broken = record({ heartbeat_at: ago(20_000) });
    const fine = record({ heartbeat_at: ago(10_000) });
    for (const j of [ahead, broken, fine]) await store.create(j);
    await log.append(ahead.id, { event: { type: 'attempt', attempt: 3, reason: 'worker_lost' }, attempt: 3 });
    const failing = Object.assign(Object.create(log) as MemoryEventLog, {
      append: (id: string, input: Parameters<MemoryEventLog['append']>[1]) =>
        id === broken.id ? Promise.reject(new Error('log unavailable for this one')) : log.append(id, input),
    });
    const watchdog = new JobWatchdog(store, failing, { staleAfterMs: 3_000 });
    const err = await watchdog.sweep().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SweepErrors);
    expect((err as SweepErrors).errors.map((e) => e.jobId)).toEqual([broken.id]);
    expect((await log.last(ahead.id))!.event).toMatchObject({ type: 'error', code: 'worker_lost', attempt: 3 });
    expect((await store.get(ahead.id))?.status).toBe('failed');
    expect((await store.get(fine.id))?.status).toBe('failed');
    expect((await store.get(broken.id))?.status).toBe('running');
  });

  it('dispatches a queued job whose dispatch was never confirmed, once, after the grace period', async () => {
    const { log, store } = setup();
    const queue = new MemoryJobQueue();
    const watchdog = new JobWatchdog(store, log, { staleAfterMs: 3_000, dispatchGraceMs: 1_000 }, queue);
    const stranded = newJobRecord(
      { id: newJobId(), tenant: 't', agent: 'echo', input: { message: 'hi' }, metadata: null },
      new Date(Date.now() - 5_000),
    );
    const young = newJobRecord({
      id: newJobId(),
      tenant: 't',
      agent: 'echo',
      input: { message: 'hi' },
      metadata: null,
    });
    for (const j of [stranded, young]) await store.create(j);
    await watchdog.sweep();
    expect(queue.depth()).toBe(1);
    expect((await log.read(stranded.id, START, 10)).map((e) => e.event)).toMatchObject([
      { type: 'status', status: 'queued', seq: 1 },
    ]);
    expect((await store.get(stranded.id))?.dispatched_at).toEqual(expect.any(String));
    expect((await store.get(young.id))?.dispatched_at).toBeNull();
    await watchdog.sweep();
    expect(queue.depth()).toBe(1); // confirmed: not dispatched again
    expect(watchdog.redispatched).toEqual([stranded.id]);
    await queue.close();
  });

  it('never takes a waiting job for a lost worker, and ends it with input_timeout at its deadline (v1.1)', async () => {
    const { log, store, watchdog } = setup();
    const req = (rid: string, expires: string) => ({
      request_id: rid,
      kind: 'approval' as const,
      prompt: 'ok?',
      schema: { type: 'object' },
      expires_at: expires,
      attempt: 2,
      answer: null,
      answered_at: null,
    });
    const due = record({
      status: 'waiting_for_input',
      heartbeat_at: null,
      updated_at: ago(3_600_000),
      input_request: req('r1', ago(1)),
    });
    const later = record({
      status: 'waiting_for_input',
      heartbeat_at: null,
      updated_at: ago(3_600_000),
      input_request: req('r2', new Date(Date.now() + 60_000).toISOString()),
    });
    for (const j of [due, later]) await store.create(j);
    await log.append(due.id, {
      event: { type: 'input_required', request_id: 'r1', kind: 'approval', prompt: 'ok?' },
      attempt: 2,
    });

    expect(await watchdog.sweep()).toEqual([]); // an hour without a heartbeat: not stale, it holds no worker
    expect(await watchdog.sweepInputs()).toEqual([due.id]);
    const last = (await log.last(due.id))!.event;
    expect(last).toMatchObject({
      type: 'error',
      code: 'input_timeout',
      retryable: false,
      attempt: 2,
      usage: { input_tokens: 3, output_tokens: 1 },
    });
    expect(await store.get(due.id)).toMatchObject({ status: 'failed', error: { code: 'input_timeout' } });
    expect((await store.get(later.id))?.status).toBe('waiting_for_input');
    expect(await watchdog.sweepInputs()).toEqual([]);
    // exact after restarts: the deadline lives in the store, so a fresh watchdog finds it when it is due
    const restarted = new JobWatchdog(store, log, { staleAfterMs: 3_000 });
    expect(await restarted.sweepInputs(Date.now() + 61_000)).toEqual([later.id]);
  });

  it('goes on past a waiting job it cannot end at its deadline, and logs it with its id', async () => {
    const { log, store } = setup();
    const req = (rid: string) => ({
      request_id: rid,
      kind: 'approval' as const,
      prompt: 'ok?',
      schema: { type: 'object' },
      expires_at: ago(1_000),
      attempt: 2,
      answer: null,
      answered_at: null,
    });
    const jobs = [1, 2, 3].map((i) =>
      record({ status: 'waiting_for_input', heartbeat_at: null, input_request: req(`r${i}`) }),
    );
    for (const j of jobs) await store.create(j);
    const bad = jobs[0]!.id;
    // the first due job's record cannot be read (a corrupt record, a transient error on that key)
    const flaky = Object.create(store) as MemoryJobStore;
    flaky.get = async (id: string) => {
      if (id === bad) throw new Error('WRONGTYPE Operation against a key holding the wrong kind of value');
      return store.get(id);
    };
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => {});
    try {
      const watchdog = new JobWatchdog(flaky, log, { staleAfterMs: 3_000 });
      const err = await watchdog.sweepInputs().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SweepErrors);
      expect((err as SweepErrors).errors.map((e) => e.jobId)).toEqual([bad]);
      for (const j of jobs.slice(1)) expect((await store.get(j.id))?.status).toBe('failed'); // the others ended
      expect((await store.get(bad))?.status).toBe('waiting_for_input');
      expect(warn).toHaveBeenCalledWith(
        expect.objectContaining({ job_id: bad, error: expect.stringContaining('WRONGTYPE') }),
      );
    } finally {
      warn.mockRestore();
    }
  });
});
