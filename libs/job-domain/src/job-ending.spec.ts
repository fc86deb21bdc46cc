import { describe, expect, it } from '@jest/globals';
import { START, newJobId, type JobStatus, type TerminalAgentEvent } from '@jobstream/contracts';
import { MemoryEventLog, StaleAttemptError, type AppendInput } from '@jobstream/event-log';
import { JobStoreUnavailableError, MemoryJobStore, type JobRecord, type JobStore } from '@jobstream/job-store';
import { cancelledDedupId, endDedupId, watchdogDedupId } from './dedup-ids.js';
import { endCancelled, endJob, settleFromLog, type JobEndingDeps } from './job-ending.js';

const usage = { input_tokens: 3, output_tokens: 5 };
const done: TerminalAgentEvent = { type: 'done', usage, output: { text: 'ok' } };
const crashed: TerminalAgentEvent = { type: 'error', code: 'agent_crashed', message: 'boom', retryable: false, usage };
const lost: TerminalAgentEvent = { type: 'error', code: 'worker_lost', message: 'silent', retryable: true, usage };
const cancelled: TerminalAgentEvent = { type: 'cancelled', reason: 'stop', usage };

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
    attempt: 1,
    usage: { input_tokens: 0, output_tokens: 0 },
    error: null,
    cancel_reason: null,
    heartbeat_at: now,
    ...over,
  };
}

async function setup(over: Partial<JobRecord> = {}) {
  const log = new MemoryEventLog({ retentionMs: 60_000 });
  const store = new MemoryJobStore({ retentionMs: 60_000, idempotencyTtlMs: 60_000 });
  const job = record(over);
  await store.create(job);
  const transitions: JobStatus[] = [];
  const deps: JobEndingDeps = { store, log, onTransition: (s) => transitions.push(s) };
  const types = async () => (await log.read(job.id, START, 100)).map((e) => `${e.event.type}@${e.event.attempt}`);
  return { log, store, job, deps, transitions, types };
}

describe('endJob (the one place a job ends)', () => {
  it('normal end: appends the terminal event and settles the store from it (status, usage, error, its time)', async () => {
    const { store, job, deps, transitions, types } = await setup();
    const ended = await endJob(deps, {
      jobId: job.id,
      attempt: 1,
      event: crashed,
      dedupId: endDedupId(job.id, 1),
      scope: 'attempt',
    });
    expect(ended).toMatchObject({ status: 'failed', appended: true, changed: true, conflict: false, attempt: 1 });
    expect(ended.event).toMatchObject({ type: 'error', code: 'agent_crashed', attempt: 1 });
    expect(await types()).toEqual(['error@1']);
    expect(await store.get(job.id)).toMatchObject({
      status: 'failed',
      usage,
      error: { code: 'agent_crashed', message: 'boom' },
      finished_at: ended.event.ts,
    });
    expect(transitions).toEqual(['failed']);
  });

  it('log already closed by the same attempt: that terminal event wins, the store follows it', async () => {
    const { log, store, job, deps, types } = await setup();
    await log.append(job.id, { event: { type: 'token', text: 'a' }, attempt: 1 });
    const first = await log.append(job.id, { event: done, attempt: 1, dedupId: `${job.id}:1:2` }); // the agent's own done
    const ended = await endJob(deps, {
      jobId: job.id,
      attempt: 1,
      event: crashed,
      dedupId: endDedupId(job.id, 1),
      scope: 'attempt',
    });
    expect(ended).toMatchObject({ status: 'completed', appended: false, changed: true });
    expect(ended.event).toEqual(first.event);
    expect(await types()).toEqual(['token@1', 'done@1']);
    expect(await store.get(job.id)).toMatchObject({ status: 'completed', error: null, finished_at: first.event.ts });
  });

  it('log already closed by another attempt: its terminal event wins, even for a superseded attempt', async () => {
    const { log, store, job, deps, types } = await setup({ attempt: 2 });
    await log.append(job.id, { event: { type: 'token', text: 'a' }, attempt: 1 });
    await log.append(job.id, { event: { type: 'attempt', attempt: 2, reason: 'worker_lost' }, attempt: 2 });
    await log.append(job.id, { event: cancelled, attempt: 2, dedupId: cancelledDedupId(job.id) });
    // the runner of attempt 1 comes back and tries to end its attempt
    const ended = await endJob(deps, {
      jobId: job.id,
      attempt: 1,
      event: done,
      dedupId: endDedupId(job.id, 1),
      scope: 'attempt',
    });
    expect(ended).toMatchObject({ status: 'cancelled', appended: false });
    expect(ended.event).toMatchObject({ type: 'cancelled', attempt: 2 });
    expect(await types()).toEqual(['token@1', 'attempt@2', 'cancelled@2']);
    expect(await store.get(job.id)).toMatchObject({ status: 'cancelled', attempt: 2 });
  });

  it("stale attempt, scope 'attempt': a superseded runner writes nothing, neither log nor store", async () => {
    const { log, store, job, deps, transitions, types } = await setup({ attempt: 2 });
    await log.append(job.id, { event: { type: 'attempt', attempt: 2, reason: 'worker_lost' }, attempt: 2 });
    const before = await store.get(job.id);
    const err = await endJob(deps, {
      jobId: job.id,
      attempt: 1,
      event: crashed,
      dedupId: endDedupId(job.id, 1),
      scope: 'attempt',
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StaleAttemptError);
    expect(err).toMatchObject({ attempt: 1, current: 2 });
    expect(await types()).toEqual(['attempt@2']);
    expect(await store.get(job.id)).toEqual(before);
    expect(transitions).toEqual([]);
  });

  it("stale attempt, scope 'job': the end follows the log to its newer attempt (record behind the log)", async () => {
    // a worker died between appending attempt 2's `attempt` event and writing the record: the record says 1
    const { log, store, job, deps, types } = await setup({ attempt: 1 });
    await log.append(job.id, { event: { type: 'attempt', attempt: 2, reason: 'worker_lost' }, attempt: 2 });
    const ended = await endJob(deps, {
      jobId: job.id,
      attempt: 1,
      event: lost,
      dedupId: (a) => watchdogDedupId(job.id, a),
      scope: 'job',
    });
    expect(ended).toMatchObject({ status: 'failed', appended: true, attempt: 2 });
    expect(await types()).toEqual(['attempt@2', 'error@2']);
    expect(await store.get(job.id)).toMatchObject({ status: 'failed', error: { code: 'worker_lost' } });
    // the same end again (another watchdog): dedup on attempt 2's id, nothing new
    const again = await endJob(deps, {
      jobId: job.id,
      attempt: 1,
      event: lost,
      dedupId: (a) => watchdogDedupId(job.id, a),
      scope: 'job',
    });
    expect(again).toMatchObject({ status: 'failed', changed: false });
    expect(await types()).toEqual(['attempt@2', 'error@2']);
  });

  it('the store follows the log even when the record names a newer attempt than the terminal event', async () => {
    const { log, store, job, deps } = await setup({ attempt: 3 });
    const t = await log.append(job.id, { event: done, attempt: 1 });
    const settled = await settleFromLog(deps, job.id, t.event as never);
    expect(settled).toMatchObject({ status: 'completed', changed: true, conflict: false });
    expect(await store.get(job.id)).toMatchObject({ status: 'completed', attempt: 3, finished_at: t.event.ts });
  });

  it('store already terminal with the same status (a queued job cancelled store-first): its end time follows the event', async () => {
    const { store, job, deps, transitions, types } = await setup({ status: 'queued', heartbeat_at: null });
    await store.transition(job.id, 'cancelled', { from: ['queued'], patch: { cancel_reason: 'stop' } });
    const storeFirst = (await store.get(job.id))!.finished_at;
    const ended = await endJob(deps, {
      jobId: job.id,
      attempt: 1,
      event: cancelled,
      dedupId: cancelledDedupId(job.id),
      scope: 'job',
    });
    expect(ended).toMatchObject({ status: 'cancelled', appended: true, changed: false, conflict: false });
    expect(await types()).toEqual(['cancelled@1']);
    const rec = (await store.get(job.id))!;
    expect(rec).toMatchObject({ status: 'cancelled', usage, cancel_reason: 'stop', finished_at: ended.event.ts });
    expect(storeFirst).not.toBeNull();
    expect(transitions).toEqual([]); // the caller counted its own store-first transition
  });

  it('store already terminal with another status: nothing can change it; reported as a conflict', async () => {
    const { store, job, deps } = await setup();
    await store.transition(job.id, 'completed', { patch: { usage } });
    const before = await store.get(job.id);
    const ended = await endJob(deps, {
      jobId: job.id,
      attempt: 1,
      event: cancelled,
      dedupId: cancelledDedupId(job.id),
      scope: 'job',
    });
    expect(ended).toMatchObject({ status: 'cancelled', changed: false, conflict: true });
    expect(await store.get(job.id)).toEqual(before);
  });

  it('retry after a half-done end (appended, store not settled): the retry settles it, no second terminal event', async () => {
    const { log, store, job, types } = await setup();
    let failNext = true;
    const flaky: JobStore = Object.create(store, {
      transition: {
        value: (...args: Parameters<JobStore['transition']>) => {
          if (failNext) {
            failNext = false;
            return Promise.reject(new JobStoreUnavailableError('redis down'));
          }
          return store.transition(...args);
        },
      },
    });
    const ending = {
      jobId: job.id,
      attempt: 1,
      event: crashed,
      dedupId: endDedupId(job.id, 1),
      scope: 'attempt' as const,
    };
    await expect(endJob({ store: flaky, log }, ending)).rejects.toBeInstanceOf(JobStoreUnavailableError);
    expect(await types()).toEqual(['error@1']);
    expect((await store.get(job.id))?.status).toBe('running');

    const retried = await endJob({ store: flaky, log }, ending);
    expect(retried).toMatchObject({ status: 'failed', appended: true, changed: true });
    expect(await types()).toEqual(['error@1']);
    expect(await store.get(job.id)).toMatchObject({ status: 'failed', finished_at: retried.event.ts });
  });

  it("uses the caller's append (the runner's, which rides out log outages)", async () => {
    const { log, job, deps } = await setup();
    const seen: AppendInput[] = [];
    const ended = await endJob(
      { ...deps, append: (id, input) => (seen.push(input), log.append(id, input)) },
      { jobId: job.id, attempt: 1, event: done, dedupId: endDedupId(job.id, 1), scope: 'attempt' },
    );
    expect(ended.status).toBe('completed');
    expect(seen).toEqual([{ event: done, attempt: 1, dedupId: `${job.id}:1:end` }]);
  });
});

describe('endCancelled (a cancel that reached a job being parked)', () => {
  it("ends the attempt `cancelled` with the job's cancel dedup id, a copy of the usage, and the store settled", async () => {
    const { store, job, deps, types } = await setup();
    const ended = await endCancelled(deps, job.id, 1, 'stop', usage);
    expect(ended).toMatchObject({ type: 'cancelled', reason: 'stop', usage, attempt: 1 });
    expect(ended.usage).not.toBe(usage);
    expect(await types()).toEqual(['cancelled@1']);
    expect(await store.get(job.id)).toMatchObject({ status: 'cancelled', finished_at: ended.ts });
    // repeated (the same dedup id): still one terminal event
    await endCancelled(deps, job.id, 1, 'stop', usage);
    expect(await types()).toEqual(['cancelled@1']);
  });

  it('returns the terminal event the log already holds when another ending got there first', async () => {
    const { log, job, deps } = await setup();
    await log.append(job.id, { event: done, attempt: 1, dedupId: endDedupId(job.id, 1) });
    expect(await endCancelled(deps, job.id, 1, 'stop', usage)).toMatchObject({ type: 'done' });
  });
});
