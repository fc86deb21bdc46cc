/**
 * The runner's side of interactive jobs with a user-written agent: the job parks holding nothing, continues
 * from its own log after the answer (same attempt, nothing re-emitted), and an answer that arrives while the
 * runner still holds the job continues it at once.
 */
import { describe, expect, it } from '@jest/globals';
import { START, newJobId, type JobEvent } from '@jobstream/contracts';
import { MemoryEventLog, type AppendInput } from '@jobstream/event-log';
import type { QueuedJob } from '@jobstream/job-queue';
import { MemoryJobStore, newJobRecord, type JobRecord } from '@jobstream/job-store';
import { AgentRegistry, type Agent, type AgentContext, type AgentOutput } from '../agent.js';
import { requestsIn, tokenTextIn } from '../history.js';
import { JobRunner } from './job-runner.js';

/** A user agent: greets, asks a name (text), greets by name, asks approval, ends. A function of input + history. */
const greeter: Agent = {
  name: 'echo', // runs under a known agent name (its input is an echo input)
  async *run(ctx: AgentContext): AsyncIterable<AgentOutput> {
    const asked = requestsIn(ctx.history);
    const tokens = (t: string): AgentOutput => {
      ctx.usage.output_tokens++;
      return { type: 'token', text: t };
    };
    ctx.usage.input_tokens = 1;
    if (asked.length === 0) {
      yield tokens('Hi. ');
      yield { type: 'input_required', kind: 'text', prompt: 'Your name?', request_id: 'name' };
      yield tokens('never emitted: the runner closes the iterator after a question');
      return;
    }
    const name = asked[0]!.answer?.['text'];
    if (asked.length === 1) {
      yield tokens(`Hello ${String(name)}. `);
      yield { type: 'input_required', kind: 'approval', prompt: 'Send?' };
      return;
    }
    if (asked[1]!.answer?.['approved'] !== true) {
      yield { type: 'cancelled', reason: 'rejected', usage: { ...ctx.usage } };
      return;
    }
    yield tokens('Sent.');
    yield { type: 'done', usage: { ...ctx.usage }, output: { text: tokenTextIn(ctx.history) + 'Sent.' } };
  },
};

function delivery(jobId: string): QueuedJob & { acked: boolean } {
  const d = {
    jobId,
    agent: 'echo',
    tenant: 't',
    deliveries: 1,
    acked: false,
    working: () => {},
    ack: async () => void (d.acked = true),
    release: async () => {},
    abandon: () => {},
  };
  return d;
}

function setup(onAppend?: (jobId: string, input: AppendInput) => Promise<void>) {
  const log = new MemoryEventLog({ retentionMs: 60_000 });
  if (onAppend) {
    const append = log.append.bind(log);
    log.append = async (jobId, input) => {
      const r = await append(jobId, input);
      await onAppend(jobId, input);
      return r;
    };
  }
  const store = new MemoryJobStore({ retentionMs: 60_000, idempotencyTtlMs: 60_000 });
  const runner = new JobRunner(store, log, new AgentRegistry([greeter]), {
    maxAttempts: 3,
    workingIntervalMs: 1000,
    inputTimeoutMs: 60_000,
  });
  return { log, store, runner };
}

async function newJob(store: MemoryJobStore, log: MemoryEventLog): Promise<JobRecord> {
  const { job } = await store.create(
    newJobRecord({ id: newJobId(), tenant: 't', agent: 'echo', input: { message: 'x' }, metadata: null }),
  );
  await log.append(job.id, { event: { type: 'status', status: 'queued' }, attempt: 1 });
  return job;
}

/** What the API does with an answer to a waiting job (JobsService.input), in short. */
async function answer(store: MemoryJobStore, log: MemoryEventLog, jobId: string, input: Record<string, unknown>) {
  const rec = (await store.get(jobId))!;
  const req = rec.input_request!;
  const tr = await store.transition(jobId, 'queued', {
    from: ['waiting_for_input'],
    where: (j) => j.input_request?.request_id === req.request_id && j.input_request.answer === null,
    patch: { input_request: { ...req, answer: input, answered_at: new Date().toISOString() } },
  });
  expect(tr.changed).toBe(true);
  await log.append(jobId, {
    event: { type: 'input_received', request_id: req.request_id, input },
    attempt: rec.attempt,
  });
  await log.append(jobId, { event: { type: 'status', status: 'queued' }, attempt: rec.attempt });
}

const all = async (log: MemoryEventLog, id: string) => (await log.read(id, START, 1000)).map((e) => e.event);

describe('JobRunner: interactive jobs', () => {
  it('parks on a question (ack, no slot), and any runner continues from the log without re-emitting anything', async () => {
    const { log, store, runner } = setup();
    const job = await newJob(store, log);
    const d1 = delivery(job.id);
    await runner.handle(d1);
    expect(d1.acked).toBe(true);
    expect(runner.runningJobs()).toEqual([]);
    const rec = (await store.get(job.id))!;
    expect(rec.status).toBe('waiting_for_input');
    expect(rec.heartbeat_at).toBeNull();
    expect(rec.usage).toEqual({ input_tokens: 1, output_tokens: 1 });
    expect(rec.input_request).toMatchObject({
      request_id: 'name',
      kind: 'text',
      attempt: 1,
      answer: null,
      schema: { type: 'object', required: ['text'] },
    });
    // a stray delivery of a waiting job is acked and does nothing
    const stray = delivery(job.id);
    await runner.handle(stray);
    expect(stray.acked).toBe(true);
    expect((await all(log, job.id)).length).toBe(5);

    await answer(store, log, job.id, { text: 'Ada' });
    // another runner (another worker) continues
    const runner2 = new JobRunner(store, log, new AgentRegistry([greeter]), {
      maxAttempts: 3,
      workingIntervalMs: 1000,
    });
    await runner2.handle(delivery(job.id));
    expect((await store.get(job.id))!.input_request).toMatchObject({ kind: 'approval', answer: null });
    await answer(store, log, job.id, { approved: true });
    await runner.handle(delivery(job.id));

    const events = await all(log, job.id);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(new Set(events.map((e) => e.attempt))).toEqual(new Set([1]));
    expect(events.map((e) => (e.type === 'status' ? `status:${(e as JobEvent<'status'>).status}` : e.type))).toEqual([
      'status:queued',
      'status:running',
      'token',
      'input_required',
      'status:waiting_for_input',
      'input_received',
      'status:queued',
      'status:running',
      'token',
      'input_required',
      'status:waiting_for_input',
      'input_received',
      'status:queued',
      'status:running',
      'token',
      'done',
    ]);
    expect(tokenTextIn(events)).toBe('Hi. Hello Ada. Sent.');
    expect(events.at(-1)).toMatchObject({
      type: 'done',
      output: { text: 'Hi. Hello Ada. Sent.' },
      usage: { input_tokens: 1, output_tokens: 3 },
    });
    expect(await store.get(job.id)).toMatchObject({ status: 'completed', usage: { output_tokens: 3 } });
  });

  it('an answer recorded while the runner still holds the job continues it at once, in the same run', async () => {
    const answered = new Set<string>();
    // The "client" answers the moment the question is in the log (before the runner parks the job).
    const { log, store, runner } = setup(async (jobId, input) => {
      if (input.event.type !== 'input_required' || answered.has(input.event.request_id)) return;
      answered.add(input.event.request_id);
      const rec = (await store.get(jobId))!;
      const ans = input.event.kind === 'text' ? { text: 'Bob' } : { approved: true };
      await store.transition(jobId, 'running', {
        from: ['running'],
        patch: { input_request: { ...rec.input_request!, answer: ans, answered_at: new Date().toISOString() } },
      });
    });
    const job = await newJob(store, log);
    const d = delivery(job.id);
    await runner.handle(d);
    expect(d.acked).toBe(true);
    const events = await all(log, job.id);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(tokenTextIn(events)).toBe('Hi. Hello Bob. Sent.');
    expect(events.filter((e) => e.type === 'input_received')).toHaveLength(2);
    expect(await store.get(job.id)).toMatchObject({ status: 'completed' });
  });

  it('a cancel that reaches the job while it is being parked ends it there: one cancelled event, the store settled', async () => {
    // eslint-disable-next-line prefer-const -- assigned once setup() returns; the callback passed to setup() reads it
    let store!: MemoryJobStore;
    // The "client" cancels the moment the question is in the log: the API records the reason, nobody holds the job
    // once it parks, so the parking runner must end it (through the job-ending module).
    const {
      log,
      store: s,
      runner,
    } = setup(async (jobId, input) => {
      if (input.event.type === 'input_required') await store.update(jobId, { cancel_reason: 'changed my mind' });
    });
    store = s;
    const job = await newJob(store, log);
    const d = delivery(job.id);
    await runner.handle(d);
    expect(d.acked).toBe(true);
    const events = await all(log, job.id);
    expect(events.map((e) => e.type)).toEqual(['status', 'status', 'token', 'input_required', 'status', 'cancelled']);
    expect(events.at(-2)).toMatchObject({ type: 'status', status: 'waiting_for_input' });
    expect(events.at(-1)).toMatchObject({
      type: 'cancelled',
      reason: 'changed my mind',
      usage: { input_tokens: 1, output_tokens: 1 },
    });
    expect(await store.get(job.id)).toMatchObject({
      status: 'cancelled',
      usage: { output_tokens: 1 },
      finished_at: events.at(-1)!.ts,
    });
  });

  it('ends the job clearly when a question is malformed (a schema that does not compile, tool calls on an approval)', async () => {
    for (const bad of [
      { type: 'input_required', kind: 'text', prompt: 'x', schema: { type: 'no-such-type' } },
      {
        type: 'input_required',
        kind: 'approval',
        prompt: 'x',
        tool_calls: [{ call_id: 'c', name: 'n', arguments: {} }],
      },
      { type: 'input_required', kind: 'tool_results', prompt: 'x' },
    ]) {
      const agent: Agent = {
        name: 'echo',
        async *run() {
          yield bad as AgentOutput;
        },
      };
      const log = new MemoryEventLog({ retentionMs: 60_000 });
      const store = new MemoryJobStore({ retentionMs: 60_000, idempotencyTtlMs: 60_000 });
      const runner = new JobRunner(store, log, new AgentRegistry([agent]), { maxAttempts: 3, workingIntervalMs: 1000 });
      const job = await newJob(store, log);
      await runner.handle(delivery(job.id));
      const last = (await all(log, job.id)).at(-1)!;
      expect(last).toMatchObject({ type: 'error', code: 'invalid_input_request', retryable: false });
      expect((await store.get(job.id))!.status).toBe('failed');
    }
  });

  it('a new delivery that arrives while the parking run is still winding down runs after it (never swallowed)', async () => {
    const second: Promise<void>[] = [];
    const d2 = delivery('');
    const { log, store, runner } = setup(async (jobId, input) => {
      // the moment the job is seen waiting, a fast client answers and the queue hands the job to this same runner
      if (input.event.type !== 'status' || input.event.status !== 'waiting_for_input' || second.length > 0) return;
      await answer(store, log, jobId, { text: 'Eve' });
      Object.assign(d2, { jobId });
      second.push(runner.handle(d2));
    });
    const job = await newJob(store, log);
    await runner.handle(delivery(job.id));
    await Promise.all(second);
    expect(d2.acked).toBe(true);
    // the continued run asked the next question; answer it and finish
    expect((await store.get(job.id))!.input_request).toMatchObject({ kind: 'approval', answer: null });
    await answer(store, log, job.id, { approved: true });
    await runner.handle(delivery(job.id));
    const events = await all(log, job.id);
    expect(tokenTextIn(events)).toBe('Hi. Hello Eve. Sent.');
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(await store.get(job.id)).toMatchObject({ status: 'completed' });
  });
});
