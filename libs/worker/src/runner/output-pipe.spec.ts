import { describe, expect, it } from '@jest/globals';
import { START, type AgentEvent } from '@jobstream/contracts';
import { MemoryEventLog, type AppendInput } from '@jobstream/event-log';
import { MemoryJobStore } from '@jobstream/job-store';
import { waitFor } from '../../../contracts/src/testing/wait.js';
import { AgentRegistry, type Agent, type AgentOutput } from '../agent.js';
import { JobRunner } from './job-runner.js';
import { pipeOutputs, type PipeStep, type PipeWrite } from './output-pipe.js';
import { delivery, record } from './testing/runner-fixtures.js';

const tok = (text: string): AgentEvent => ({ type: 'token', text });
const done: AgentEvent = { type: 'done', usage: { input_tokens: 0, output_tokens: 0 }, output: {} };
const tool: AgentEvent = { type: 'tool_call_start', call_id: 'c', name: 'n', arguments: {} };

function deferred<T = void>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** An agent's outputs as a generator that counts how far it got, optionally waiting on gates before some outputs. */
function source(outputs: AgentOutput[], gates: Map<number, Promise<void>> = new Map(), failAtEnd = false) {
  const s = { yielded: 0, closed: false };
  async function* gen(): AsyncGenerator<AgentOutput> {
    try {
      for (const [i, out] of outputs.entries()) {
        const gate = gates.get(i);
        if (gate) await gate;
        s.yielded++;
        yield out;
      }
      if (failAtEnd) throw new Error('agent exploded');
    } finally {
      s.closed = true;
    }
  }
  return { s, gen: gen() };
}

/** A write that records what it is given and holds each write until the test releases it. */
function heldWrites(answer: (w: PipeWrite) => PipeStep = () => 'next') {
  const writes: PipeWrite[] = [];
  const holds: ((step: PipeStep) => void)[] = [];
  const write = (w: PipeWrite) => {
    writes.push(w);
    return new Promise<PipeStep>((r) => holds.push(() => r(answer(w))));
  };
  const release = async (i: number) => {
    await waitFor(() => holds.length > i, { intervalMs: 1, message: `write ${i}` });
    holds[i]!('next');
  };
  return { writes, write, release };
}

const opts = { coalesce: true, maxEventBytes: 64 * 1024, fits: () => true, signal: () => new AbortController().signal };

describe('pipeOutputs (adaptive coalescing)', () => {
  it('merges the texts that arrive while a write is in flight, and only those', async () => {
    const { s, gen } = source([tok('a '), tok('b '), tok('c '), tok('d'), done]);
    const h = heldWrites();
    const piped = pipeOutputs(gen, h.write, opts);
    // the first token is written at once; the agent is read on while it is in flight, up to `done`
    await waitFor(() => s.yielded === 5, { intervalMs: 1, message: 'the agent read up to done' });
    expect(h.writes.map((w) => [w.out, w.first, w.count])).toEqual([[tok('a '), 1, 1]]);
    await h.release(0);
    await h.release(1);
    await h.release(2);
    expect(await piped).toBe('next');
    expect(h.writes.map((w) => [w.out, w.first, w.count])).toEqual([
      [tok('a '), 1, 1],
      [tok('b c d'), 2, 3],
      [done, 5, 1],
    ]);
  });

  it('does not delay a single slow token: each is written the moment it arrives', async () => {
    const gate = deferred();
    const { s, gen } = source([tok('a'), tok('b'), done], new Map([[1, gate.promise]]));
    const writes: PipeWrite[] = [];
    const piped = pipeOutputs(gen, async (w) => (writes.push(w), 'next' as const), opts);
    await waitFor(() => writes.length === 1, { intervalMs: 1, message: 'the first token written' });
    expect(s.yielded).toBe(1); // written while the agent still works on the next one
    gate.resolve();
    await piped;
    expect(writes.map((w) => w.count)).toEqual([1, 1, 1]);
  });

  it('holds any other output until the write in flight settles, and reads the agent no further meanwhile', async () => {
    const { s, gen } = source([tok('a'), tok('b'), tool, tok('c'), done]);
    const h = heldWrites();
    const piped = pipeOutputs(gen, h.write, opts);
    await waitFor(() => s.yielded === 3, { intervalMs: 1, message: 'the tool call read' });
    await new Promise((r) => setImmediate(r));
    expect(s.yielded).toBe(3); // not past the tool call while its turn has not come
    for (let i = 0; i < 5; i++) await h.release(i);
    await piped;
    expect(h.writes.map((w) => w.out)).toEqual([tok('a'), tok('b'), tool, tok('c'), done]);
  });

  it('starts a new merged event where it would pass MAX_EVENT_BYTES or the job byte budget', async () => {
    const unit = 'x'.repeat(300);
    const { s, gen } = source([tok('a'), tok(unit), tok(unit), tok(unit), tok(unit)]);
    const h = heldWrites();
    const piped = pipeOutputs(gen, h.write, { ...opts, maxEventBytes: 1024 });
    await waitFor(() => s.yielded === 4, { intervalMs: 1, message: 'the agent read on' });
    for (let i = 0; i < 4; i++) await h.release(i);
    await piped;
    expect(h.writes.map((w) => w.count)).toEqual([1, 2, 1, 1]);
    expect(h.writes.map((w) => (w.out as { text: string }).text).join('')).toBe('a' + unit.repeat(4));

    const budget = source([tok('a'), tok(unit), tok(unit), tok(unit)]);
    const b = heldWrites();
    let room = 1200; // the bytes the job may still write: the write in flight counts
    const pipedB = pipeOutputs(budget.gen, b.write, { ...opts, fits: (bytes) => bytes <= room });
    await waitFor(() => budget.s.yielded === 4, { intervalMs: 1, message: 'the agent read on' });
    room = 10_000;
    for (let i = 0; i < 3; i++) await b.release(i);
    await pipedB;
    expect(b.writes.map((w) => w.count)).toEqual([1, 2, 1]);
  });

  it('an agent that throws has what it yielded written first; then the error is thrown', async () => {
    const { gen } = source([tok('a'), tok('b'), tok('c')], new Map(), true);
    const h = heldWrites();
    const piped = pipeOutputs(gen, h.write, opts);
    for (let i = 0; i < 2; i++) await h.release(i);
    await expect(piped).rejects.toThrow('agent exploded');
    expect(h.writes.map((w) => w.out)).toEqual([tok('a'), tok('bc')]);
  });

  it('a write that stops the pass drops what was merged meanwhile and closes the agent', async () => {
    const { s, gen } = source([tok('a'), tok('b'), tok('c')]);
    const stop = deferred<PipeStep>();
    const writes: PipeWrite[] = [];
    const piped = pipeOutputs(gen, (w) => (writes.push(w), stop.promise), opts);
    await waitFor(() => s.yielded === 3, { intervalMs: 1, message: 'the agent read on' });
    stop.resolve('stop');
    expect(await piped).toBe('stop');
    expect(writes).toHaveLength(1);
    await waitFor(() => s.closed, { intervalMs: 1, message: 'the agent closed' });
  });

  it('an abort: the texts merged before it are written, an output read after it is not', async () => {
    const ac = new AbortController();
    const gate = deferred();
    const { gen } = source([tok('a'), tok('b'), tok('c'), done], new Map([[2, gate.promise]]));
    const h = heldWrites();
    const piped = pipeOutputs(gen, h.write, { ...opts, signal: () => ac.signal });
    await waitFor(() => h.writes.length === 1, { intervalMs: 1, message: 'the first write' });
    await new Promise((r) => setImmediate(r)); // 'b' is read and merged meanwhile
    ac.abort();
    gate.resolve(); // 'c' arrives after the abort
    await h.release(0);
    await h.release(1);
    expect(await piped).toBe('next');
    expect(h.writes.map((w) => w.out)).toEqual([tok('a'), tok('b')]);
  });

  it('with coalescing off, one write per output and the agent read only between writes', async () => {
    const { s, gen } = source([tok('a'), tok('b'), done]);
    const h = heldWrites();
    const piped = pipeOutputs(gen, h.write, { ...opts, coalesce: false });
    await waitFor(() => h.writes.length === 1, { intervalMs: 1, message: 'the first write' });
    await new Promise((r) => setImmediate(r));
    expect(s.yielded).toBe(1);
    for (let i = 0; i < 3; i++) await h.release(i);
    await piped;
    expect(h.writes.map((w) => w.count)).toEqual([1, 1, 1]);
  });
});

describe('the runner coalesces through a slow log', () => {
  it('merges a fast agent’s tokens while an append is held, with exact text, dense seq and deterministic dedup ids', async () => {
    const log = new MemoryEventLog({ retentionMs: 60_000 });
    const store = new MemoryJobStore({ retentionMs: 60_000, idempotencyTtlMs: 60_000 });
    const seen: AppendInput[] = [];
    const gate = deferred();
    const append = log.append.bind(log);
    // the first token's append waits for the test: the agent produces the rest meanwhile
    log.append = async (jobId, input) => {
      seen.push(input);
      if (input.event.type === 'token' && seen.filter((i) => i.event.type === 'token').length === 1) await gate.promise;
      return append(jobId, input);
    };
    const words = Array.from({ length: 50 }, (_, i) => `w${i} `);
    let yielded = 0;
    const agent: Agent = {
      name: 'echo',
      async *run() {
        for (const w of words) {
          yielded++;
          yield tok(w);
        }
        yield done;
      },
    };
    const runner = new JobRunner(store, log, new AgentRegistry([agent]), { maxAttempts: 3, workingIntervalMs: 1000 });
    const job = record();
    await store.create(job);
    const run = runner.handle(delivery(job.id));
    await waitFor(() => yielded === words.length, { intervalMs: 1, message: 'the agent produced every token' });
    gate.resolve();
    await run;
    const events = (await log.read(job.id, START, 1000)).map((e) => e.event);
    expect(events.map((e) => e.type)).toEqual(['status', 'token', 'token', 'done']);
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    expect(events.map((e) => (e.type === 'token' ? e.text : '')).join('')).toBe(words.join(''));
    const ids = seen.filter((i) => i.event.type === 'token').map((i) => i.dedupId);
    expect(ids).toEqual([`${job.id}:1:1`, `${job.id}:1:2+48`]);
  });
});
