import { describe, expect, it } from '@jest/globals';
import { START, newJobId, type AgentEvent, type JobEvent } from '@jobstream/contracts';
import { MemoryEventLog } from '@jobstream/event-log';
import type { QueuedJob } from '@jobstream/job-queue';
import { MemoryJobStore, newJobRecord } from '@jobstream/job-store';
import { AgentRegistry, type Agent } from '../agent.js';
import { EchoAgent } from '../../../../src/worker-core/agents/echo.agent.js';
import { JobRunner, type JobRunnerOptions } from './job-runner.js';
import { jsonBytes } from '@jobstream/job-domain';

function setup(opts: Partial<JobRunnerOptions> = {}, agents: Agent[] = [new EchoAgent()]) {
  const log = new MemoryEventLog({ retentionMs: 60_000 });
  const store = new MemoryJobStore({ retentionMs: 60_000, idempotencyTtlMs: 60_000 });
  const limited: string[] = [];
  const runner = new JobRunner(store, log, new AgentRegistry(agents), {
    maxAttempts: 3,
    workingIntervalMs: 1000,
    metrics: { jobTransition: () => {}, jobRunFinished: () => {}, jobLimited: (c) => limited.push(c) },
    ...opts,
  });
  const deliver = (job: { id: string; agent: string; tenant: string }): Promise<void> =>
    runner.handle({
      jobId: job.id,
      agent: job.agent,
      tenant: job.tenant,
      deliveries: 1,
      working: () => {},
      ack: async () => {},
      release: async () => {},
      abandon: () => {},
    } satisfies QueuedJob);
  const run = async (tenant: string, agent: string, input: Record<string, unknown>) => {
    const job = newJobRecord({ id: newJobId(), tenant, agent, input, metadata: null });
    await store.create(job);
    await deliver(job);
    const events = (await log.read(job.id, START, 100_000)).map((e) => e.event);
    return { id: job.id, events, last: events[events.length - 1] as JobEvent, record: await store.get(job.id) };
  };
  return { log, store, runner, run, deliver, limited };
}

const scripted = (events: AgentEvent[]): Agent => ({
  name: 'echo', // a known agent name (its input is checked against echo's schema)
  async *run() {
    yield* events;
  },
});

describe('the runner applies the size caps to every agent', () => {
  it('splits a long token into several token events with the same text, and truncates a long done', async () => {
    const { run } = setup({ maxEventBytes: 64 * 1024 });
    const message = 'ab😀'.repeat(40_000); // one echo token of 160,000 UTF-16 units, 240,000 UTF-8 bytes
    const { events, last, record } = await run('t', 'echo', { message });
    const tokens = events.filter((e) => e.type === 'token');
    expect(tokens.length).toBeGreaterThanOrEqual(4);
    expect(tokens.map((e) => e.text).join('')).toBe(message);
    for (const e of events) expect(jsonBytes(e)).toBeLessThanOrEqual(64 * 1024);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(last).toMatchObject({ type: 'done', output: { truncated: true } });
    expect(last.type === 'done' && last.output.text).toBeUndefined();
    expect(record?.status).toBe('completed');
  });

  it('ends a job whose agent emits an event over MAX_EVENT_BYTES that cannot be split: event_too_large', async () => {
    const big: AgentEvent = { type: 'tool_call_end', call_id: 'c', name: 'n', result: { blob: 'y'.repeat(10_000) } };
    const { run, limited } = setup({ maxEventBytes: 4096 }, [scripted([{ type: 'token', text: 'hi' }, big])]);
    const { events, last, record } = await run('t', 'echo', { message: 'x' });
    expect(events.map((e) => e.type)).toEqual(['status', 'token', 'error']);
    expect(last).toMatchObject({ type: 'error', code: 'event_too_large', retryable: false });
    expect(record?.error?.code).toBe('event_too_large');
    expect(limited).toEqual(['event_too_large']);
  });

  it("ends a job at MAX_JOB_BYTES (too_many_bytes), echo's message × repeat counted like any output", async () => {
    const max = 256 * 1024;
    const { run, store } = setup({ maxJobBytes: max });
    const { id, events, last } = await run('t', 'echo', { message: 'a'.repeat(60_000), repeat: 20 });
    expect(last).toMatchObject({ type: 'error', code: 'too_many_bytes' });
    const total = events.reduce((n, e) => n + jsonBytes(e), 0);
    expect(total).toBeLessThanOrEqual(max + 1024); // the terminal event may pass it
    expect(events.filter((e) => e.type === 'token').length).toBe(4); // not one more
    // the store holds the job's bytes (the status events appended by the runner included)
    expect((await store.logBytes('t', id)).job).toBeGreaterThan(200_000);
  });

  it("ends a running job that takes its tenant past the log-bytes quota; another tenant's job is unaffected", async () => {
    const quota = 100_000;
    const { run, store, limited } = setup({ tenantLogBytesQuota: quota });
    const input = { message: 'word '.repeat(2_000), repeat: 30 }; // ≈ 60,000 small token events
    const a = await run('greedy', 'echo', input);
    expect(a.last).toMatchObject({ type: 'error', code: 'quota_exceeded', retryable: true });
    const counted = (await store.logBytes('greedy')).tenant;
    expect(counted).toBeGreaterThan(quota);
    expect(counted).toBeLessThan(quota + 64 * 1024); // noticed within one flush
    expect(limited).toContain('quota_exceeded');
    const b = await run('other', 'echo', { message: 'hello there', repeat: 2 });
    expect(b.last).toMatchObject({ type: 'done' });
    // a next job of the greedy tenant that slipped past the API's check ends at its first event
    const again = await run('greedy', 'echo', { message: 'one more' });
    expect(again.last).toMatchObject({ type: 'error', code: 'quota_exceeded' });
  });

  it('continues echo after a question with the text, not the events, already in the log (a split token counts once)', async () => {
    const { run, deliver, store, log } = setup({ maxEventBytes: 4096 });
    const message = `${'A'.repeat(20_000)} b c`;
    const first = await run('t', 'echo', { message, ask: { after: 1 } });
    expect(first.record?.status).toBe('waiting_for_input');
    expect(first.events.filter((e) => e.type === 'token').length).toBeGreaterThan(4); // one echo token, split
    const rec = (await store.get(first.id))!;
    const req = rec.input_request!;
    await store.transition(first.id, 'queued', {
      from: ['waiting_for_input'],
      patch: { input_request: { ...req, answer: { approved: true }, answered_at: new Date().toISOString() } },
    });
    await log.append(first.id, {
      event: { type: 'input_received', request_id: req.request_id, input: { approved: true } },
      attempt: 1,
    });
    await log.append(first.id, { event: { type: 'status', status: 'queued' }, attempt: 1 });
    await deliver(rec);
    const events = (await log.read(first.id, START, 1000)).map((e) => e.event);
    const text = events.map((e) => (e.type === 'token' ? e.text : '')).join('');
    expect(text).toBe(message);
    expect(events.at(-1)).toMatchObject({ type: 'done', usage: { output_tokens: 3 } });
  });
});
