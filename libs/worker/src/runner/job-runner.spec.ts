import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { START } from '@jobstream/contracts';
import { waitFor } from '../../../contracts/src/testing/wait.js';
import { MemoryEventLog } from '@jobstream/event-log';
import { MemoryJobStore } from '@jobstream/job-store';
import { AgentRegistry } from '../agent.js';
import { EchoAgent } from '../../../../src/worker-core/agents/echo.agent.js';
import { JobRunner } from './job-runner.js';
import { delivery, heldEcho, record, scripted, setup, tokensIn } from './testing/runner-fixtures.js';

describe('JobRunner', () => {
  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('runs a job to completion and settles the store', async () => {
    const { log, store, runner } = setup();
    const job = record();
    await store.create(job);
    const d = delivery(job.id);
    await runner.handle(d);
    expect(d.acked).toBe(true);
    const events = (await log.read(job.id, START, 100)).map((e) => e.event.type);
    expect(events).toEqual(['status', 'token', 'token', 'token', 'done']);
    expect(await store.get(job.id)).toMatchObject({
      status: 'completed',
      usage: { input_tokens: 3, output_tokens: 3 },
    });
  });

  it("passes the dispatcher's `status: queued` (carried by the queue message) to the log with its first append", async () => {
    const { log, store, runner } = setup();
    const job = record();
    await store.create(job);
    const queued = await log.append(job.id, {
      event: { type: 'status', status: 'queued' },
      attempt: 1,
      firstEvent: true,
    });
    const append = jest.spyOn(log, 'append');
    const lastEvent = { seq: queued.event.seq, pos: queued.pos, attempt: 1 };
    await runner.handle({ ...delivery(job.id), lastEvent });
    expect(append.mock.calls[0]![1]).toMatchObject({ event: { type: 'status', status: 'running' }, lastEvent });
    expect(append.mock.calls.slice(1).some(([, input]) => input.lastEvent !== undefined)).toBe(false);
    expect((await log.read(job.id, START, 100)).map((e) => e.event.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    // a hint of another attempt (the job was handed back since) is not used
    const again = record({ attempt: 2 });
    await store.create(again);
    append.mockClear();
    await runner.handle({ ...delivery(again.id), lastEvent: { seq: 1, pos: 1, attempt: 1 } });
    expect(append.mock.calls.every(([, input]) => input.lastEvent === undefined)).toBe(true);
  });

  it('drops and logs a malformed or unknown event from an agent, never storing it', async () => {
    const errors = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => {});
    // the registry lets any agent name run only if it has an input schema: use the echo schema's name
    const bad = scripted('echo', [
      { type: 'token', text: 'ok ' },
      { type: 'telepathy', text: 'boo' },
      { type: 'token', text: 42 },
      { type: 'done', usage: { input_tokens: 0, output_tokens: 1 }, output: { text: 'ok ' } },
    ]);
    const { log, store, runner } = setup([bad]);
    const job = record();
    await store.create(job);
    await runner.handle(delivery(job.id));
    const events = (await log.read(job.id, START, 100)).map((e) => e.event);
    expect(events.map((e) => e.type)).toEqual(['status', 'token', 'done']);
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(errors).toHaveBeenCalledTimes(2);
    expect(JSON.stringify(errors.mock.calls)).toContain('telepathy');
  });

  it('ends with agent_incomplete when the agent stops without a terminal event, and agent_crashed when it throws', async () => {
    jest.spyOn(Logger.prototype, 'error').mockImplementation(() => {});
    for (const [agent, code] of [
      [scripted('echo', [{ type: 'token', text: 'x' }]), 'agent_incomplete'],
      [scripted('echo', [{ type: 'token', text: 'x' }], { throwAfter: true }), 'agent_crashed'],
    ] as const) {
      const { log, store, runner } = setup([agent]);
      const job = record();
      await store.create(job);
      await runner.handle(delivery(job.id));
      const last = await log.last(job.id);
      expect(last?.event).toMatchObject({ type: 'error', code, usage: { output_tokens: 1 } });
      expect(await store.get(job.id)).toMatchObject({ status: 'failed', error: { code } });
    }
  });

  it('starts a new attempt with an attempt event when a running job is delivered again', async () => {
    const { log, store, runner } = setup();
    const job = record({ status: 'running', attempt: 1 });
    await store.create(job);
    await log.append(job.id, { event: { type: 'status', status: 'running' }, attempt: 1 });
    await log.append(job.id, { event: { type: 'token', text: 'a ' }, attempt: 1 });
    await runner.handle(delivery(job.id, 2));
    const events = (await log.read(job.id, START, 100)).map((e) => e.event);
    expect(events.slice(2, 4)).toEqual([
      expect.objectContaining({ type: 'attempt', attempt: 2, reason: 'worker_lost' }),
      expect.objectContaining({ type: 'status', status: 'running', attempt: 2 }),
    ]);
    expect(events[events.length - 1]).toMatchObject({ type: 'done', attempt: 2 });
    expect(await store.get(job.id)).toMatchObject({ status: 'completed', attempt: 2 });
  });

  it('fails with worker_lost once the attempts are spent', async () => {
    const { log, store, runner } = setup([new EchoAgent()], 2);
    const job = record({ status: 'running', attempt: 2 });
    await store.create(job);
    await runner.handle(delivery(job.id, 3));
    expect((await log.last(job.id))?.event).toMatchObject({ type: 'error', code: 'worker_lost', retryable: false });
    expect(await store.get(job.id)).toMatchObject({ status: 'failed', error: { code: 'worker_lost' } });
  });

  it('stops when another party already ended the job, and takes its outcome', async () => {
    const held = heldEcho(1);
    const { log, store, runner } = setup([held.agent]);
    const job = record({ input: { message: 'a b c d e f' } });
    await store.create(job);
    const run = runner.handle(delivery(job.id));
    await tokensIn(log, job.id, 1); // running, and held there
    await log.append(job.id, {
      event: {
        type: 'error',
        code: 'stalled',
        message: 'watchdog',
        retryable: true,
        usage: { input_tokens: 0, output_tokens: 0 },
      },
      attempt: 1,
    });
    held.release(); // its next token meets the closed log
    await run;
    const terminal = (await log.read(job.id, START, 100)).filter((e) =>
      ['done', 'error', 'cancelled'].includes(e.event.type),
    );
    expect(terminal).toHaveLength(1);
    expect(await store.get(job.id)).toMatchObject({ status: 'failed', error: { code: 'stalled' } });
  });

  it('keeps one run when the queue delivers a job again while it runs here, and settles both deliveries', async () => {
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => {});
    const held = heldEcho(2);
    const { log, store, runner } = setup([held.agent]);
    const job = record({ input: { message: 'a b c d e f' } });
    await store.create(job);
    const first = delivery(job.id);
    const again = delivery(job.id, 2);
    const run1 = runner.handle(first);
    await tokensIn(log, job.id, 2);
    const run2 = runner.handle(again);
    held.release();
    await Promise.all([run1, run2]);
    const events = (await log.read(job.id, START, 100)).map((e) => e.event);
    expect(events.map((e) => e.type)).toEqual(['status', 'token', 'token', 'token', 'token', 'token', 'token', 'done']);
    expect(events.every((e) => e.attempt === 1)).toBe(true);
    expect([first.acked, again.acked]).toEqual([true, true]);
  });

  it('stops a run superseded by a newer attempt elsewhere, without a terminal event or an ack', async () => {
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => {});
    const held = heldEcho(2);
    const { log, store, runner } = setup([held.agent]);
    const job = record({ input: { message: 'a b c d e f g h' } });
    await store.create(job);
    const d = delivery(job.id);
    const run = runner.handle(d);
    await tokensIn(log, job.id, 2);
    // another worker took the job over (its in-progress signals were lost): attempt 2 begins
    await log.append(job.id, { event: { type: 'attempt', attempt: 2, reason: 'worker_lost' }, attempt: 2 });
    held.release(); // its next token meets the newer attempt
    await run;
    expect(d).toMatchObject({ acked: false, abandoned: true });
    const after = (await log.read(job.id, START, 100)).map((e) => e.event);
    expect(after[after.length - 1]).toMatchObject({ type: 'attempt', attempt: 2 });
    expect((await store.get(job.id))?.status).toBe('running');
    expect(runner.runningJobs()).toEqual([]);
  });

  it('cancels a running job through cancel(), reporting the usage so far', async () => {
    const { log, store, runner } = setup([heldEcho(2).agent]);
    const job = record({ input: { message: 'a b c d e f g h' } });
    await store.create(job);
    const run = runner.handle(delivery(job.id));
    await tokensIn(log, job.id, 2);
    expect(runner.cancel(job.id, 'stop')).toBe(true);
    await run;
    const last = (await log.last(job.id))!.event;
    const tokens = (await log.read(job.id, START, 100)).filter((e) => e.event.type === 'token').length;
    expect(last).toMatchObject({
      type: 'cancelled',
      reason: 'stop',
      usage: { input_tokens: 8, output_tokens: tokens },
    });
    expect(await store.get(job.id)).toMatchObject({ status: 'cancelled' });
    expect(runner.cancel(job.id, 'again')).toBe(false);
  });

  it('reports transitions and the run time of each attempt to an optional metrics sink', async () => {
    const log = new MemoryEventLog({ retentionMs: 60_000 });
    const store = new MemoryJobStore({ retentionMs: 60_000, idempotencyTtlMs: 60_000 });
    const transitions: string[] = [];
    const runs: { agent: string; status: string; seconds: number }[] = [];
    const runner = new JobRunner(store, log, new AgentRegistry([new EchoAgent()]), {
      maxAttempts: 3,
      workingIntervalMs: 1000,
      appendRetryMs: 2000,
      metrics: {
        jobTransition: (s) => transitions.push(s),
        jobRunFinished: (agent, status, seconds) => runs.push({ agent, status, seconds }),
      },
    });
    const ok = record();
    const failing = record({ input: { message: 'a b c', fail_after: 1 } });
    await store.create(ok);
    await store.create(failing);
    await runner.handle(delivery(ok.id));
    await runner.handle(delivery(failing.id));
    // a job that is already terminal is neither run nor counted again
    await runner.handle(delivery(ok.id, 2));
    expect(transitions).toEqual(['running', 'completed', 'running', 'failed']);
    expect(runs.map(({ agent, status }) => ({ agent, status }))).toEqual([
      { agent: 'echo', status: 'completed' },
      { agent: 'echo', status: 'failed' },
    ]);
    for (const r of runs) expect(r.seconds).toBeGreaterThanOrEqual(0);
  });

  it('hands a running job back without a terminal event; the next holder runs it as a new attempt', async () => {
    const { log, store, runner } = setup([heldEcho(2).agent]);
    const job = record({ input: { message: 'a b c d e f g h' } });
    await store.create(job);
    let released = false;
    const d = {
      ...delivery(job.id),
      release: async () => {
        released = true;
      },
    };
    const run = runner.handle(d);
    await tokensIn(log, job.id, 2);
    expect(runner.handBackAll()).toEqual([job.id]);
    await run;
    expect(released).toBe(true);
    expect(d.acked).toBe(false);
    const after = await log.read(job.id, START, 100);
    expect(after.some((e) => ['done', 'error', 'cancelled'].includes(e.event.type))).toBe(false);
    expect(after.slice(-2).map((e) => e.event)).toMatchObject([
      { type: 'attempt', attempt: 2, reason: 'worker_shutdown' },
      { type: 'status', status: 'queued', attempt: 2 },
    ]);
    expect(await store.get(job.id)).toMatchObject({ status: 'queued', attempt: 2, heartbeat_at: null });

    // another worker takes it: attempt 2, no second attempt event, and it completes
    const d2 = delivery(job.id, 2);
    await new JobRunner(store, log, new AgentRegistry([new EchoAgent()]), {
      maxAttempts: 3,
      workingIntervalMs: 1000,
    }).handle(d2);
    expect(d2.acked).toBe(true);
    const events = (await log.read(job.id, START, 100)).map((e) => e.event);
    expect(events.filter((e) => e.type === 'attempt')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'status' && e.status === 'running').map((e) => e.attempt)).toEqual([1, 2]);
    expect(
      events
        .filter((e) => e.type === 'token' && e.attempt === 2)
        .map((e) => (e as { text: string }).text)
        .join(''),
    ).toBe('a b c d e f g h');
    expect(events[events.length - 1]).toMatchObject({ type: 'done', attempt: 2 });
    expect(await store.get(job.id)).toMatchObject({ status: 'completed', attempt: 2 });
  });

  it('lets a cancel win over a hand-back', async () => {
    const { log, store, runner } = setup([heldEcho(1).agent]);
    const job = record({ input: { message: 'a b c d e f g h' } });
    await store.create(job);
    const run = runner.handle(delivery(job.id));
    await tokensIn(log, job.id, 1);
    runner.cancel(job.id, 'user');
    runner.handBack(job.id);
    await run;
    expect((await log.last(job.id))!.event).toMatchObject({ type: 'cancelled', reason: 'user' });
    expect(await store.get(job.id)).toMatchObject({ status: 'cancelled' });
  });

  it('records heartbeats in the store while a job runs', async () => {
    const log = new MemoryEventLog({ retentionMs: 60_000 });
    const store = new MemoryJobStore({ retentionMs: 60_000, idempotencyTtlMs: 60_000 });
    const held = heldEcho(1);
    const runner = new JobRunner(store, log, new AgentRegistry([held.agent]), {
      maxAttempts: 3,
      workingIntervalMs: 20,
    });
    const job = record({ input: { message: 'a b c d e f' } });
    await store.create(job);
    let working = 0;
    const beats = new Set<string>();
    const run = runner.handle({
      ...delivery(job.id),
      working: () => {
        working++;
      },
    });
    // while the job is held running, heartbeats keep landing in the store, each a new heartbeat_at
    await waitFor(
      async () => {
        const hb = (await store.get(job.id))?.heartbeat_at;
        if (hb) beats.add(hb);
        return beats.size > 1;
      },
      { intervalMs: 10, message: 'a second heartbeat in the store' },
    );
    expect(working).toBeGreaterThan(0);
    held.release();
    await run;
    expect((await log.last(job.id))?.event.type).toBe('done');
  });
});
