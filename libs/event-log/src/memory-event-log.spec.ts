import { describe, expect, it } from '@jest/globals';
import { START, newJobId } from '@jobstream/contracts';
import { EventLogFullError, JobLogClosedError } from './event-log.port.js';
import { EVENT_OVERHEAD_BYTES, MemoryEventLog, estimateEventBytes } from './memory-event-log.js';
import { eventLogConformance } from './testing/event-log.conformance.js';

// Two "appenders" in the conformance suite share one engine, as two components of one process do.
let shared: MemoryEventLog | null = null;
eventLogConformance(
  'memory',
  async ({ retentionMs, maxBytes }) => {
    if (maxBytes !== undefined) return new MemoryEventLog({ retentionMs, maxBytes });
    if (!shared || (shared as unknown as { opts: { retentionMs: number } }).opts.retentionMs !== retentionMs) {
      shared = new MemoryEventLog({ retentionMs });
    }
    const engine = shared;
    // close() of one handle must not stop the other handles of the same engine.
    return Object.assign(Object.create(engine) as MemoryEventLog, { close: async () => {} });
  },
  { rollback: async (log, jobId, keepSeq) => (log as MemoryEventLog).simulateRollback(jobId, keepSeq) },
);

describe('MemoryEventLog bounds', () => {
  const tok = (text: string) => ({ event: { type: 'token' as const, text }, attempt: 1 });
  const done = {
    event: { type: 'done' as const, usage: { input_tokens: 0, output_tokens: 1 }, output: { text: 'x' } },
    attempt: 1,
  };

  it('evicts the oldest finished jobs whole when over maxEvents, never a running one', async () => {
    const log = new MemoryEventLog({ retentionMs: 3_600_000, maxEvents: 10 });
    const [a, b, c] = [newJobId(), newJobId(), newJobId()];
    for (const j of [a, b]) {
      for (let i = 0; i < 3; i++) await log.append(j, tok(`${i}`));
      await log.append(j, done);
    }
    expect(log.size().events).toBe(8);
    // a running job needs room: the oldest finished job (a) goes whole, b stays whole
    for (let i = 0; i < 5; i++) await log.append(c, tok(`${i}`));
    expect(await log.read(a, START, 100)).toEqual([]);
    expect(await log.first(a)).toBeNull();
    expect(await log.last(a)).toBeNull();
    expect((await log.read(b, START, 100)).map((e) => e.event.seq)).toEqual([1, 2, 3, 4]);
    expect(log.size()).toMatchObject({ events: 9, runningEvents: 5, evictedJobs: 1 });
    // an evicted job stays closed: nothing can be appended to it as if it were new
    await expect(log.append(a, tok('late'))).rejects.toBeInstanceOf(JobLogClosedError);
    await log.close();
  });

  it('refuses non-terminal appends when running jobs alone fill the budget; a terminal event always fits', async () => {
    const log = new MemoryEventLog({ retentionMs: 3_600_000, maxEvents: 5 });
    const j = newJobId();
    expect(log.hasRoom()).toBe(true);
    for (let i = 0; i < 5; i++) await log.append(j, tok(`${i}`));
    expect(log.hasRoom()).toBe(false);
    await expect(log.append(j, tok('one too many'))).rejects.toBeInstanceOf(EventLogFullError);
    expect((await log.append(j, done)).event.seq).toBe(6);
    // finished now: it no longer holds room back, and it is evicted when a new job needs the space
    expect(log.hasRoom()).toBe(true);
    const k = newJobId();
    await log.append(k, tok('new'));
    expect(await log.first(j)).toBeNull();
    await log.close();
  });

  it('keeps a finished job that is being streamed (it has listeners) and evicts the next one instead', async () => {
    const log = new MemoryEventLog({ retentionMs: 3_600_000, maxEvents: 6 });
    const [a, b, c] = [newJobId(), newJobId(), newJobId()];
    for (const j of [a, b]) {
      await log.append(j, tok('x'));
      await log.append(j, done);
    }
    const sub = await log.subscribe(a, () => {});
    for (let i = 0; i < 4; i++) await log.append(c, tok(`${i}`));
    expect((await log.read(a, START, 10)).length).toBe(2);
    expect(await log.first(b)).toBeNull();
    sub.unsubscribe();
    await log.close();
  });

  it('bounds the estimated bytes too, and counts them back down as events expire', async () => {
    let now = 1_000;
    const big = 'y'.repeat(10_000);
    const log = new MemoryEventLog({ retentionMs: 1_000, maxBytes: 50_000, now: () => now });
    const [a, b] = [newJobId(), newJobId()];
    await log.append(a, tok(big));
    await log.append(a, tok(big));
    await log.append(a, done);
    expect(log.size().bytes).toBeGreaterThan(2 * (10_000 + EVENT_OVERHEAD_BYTES));
    for (let i = 0; i < 3; i++) await log.append(b, tok(big));
    expect(await log.first(a)).toBeNull(); // evicted for b's bytes
    expect(log.size().bytes).toBeLessThanOrEqual(50_000);
    await expect(log.append(b, tok(big + big))).rejects.toBeInstanceOf(EventLogFullError);
    now += 5_000;
    expect(await log.first(b)).toBeNull();
    expect(log.size()).toMatchObject({ events: 0, bytes: 0, runningEvents: 0, runningBytes: 0 });
    expect(
      estimateEventBytes({ job_id: 'j', seq: 1, ts: 't', attempt: 1, type: 'token', text: 'abc' } as never),
    ).toBeGreaterThan(EVENT_OVERHEAD_BYTES);
    await log.close();
  });

  it('forgets a job whose events all expired and that nobody listens to', async () => {
    let now = 1_000;
    const log = new MemoryEventLog({ retentionMs: 100, now: () => now });
    const job = newJobId();
    await log.append(job, { event: { type: 'token', text: 'a' }, attempt: 1 });
    now += 500;
    expect(await log.first(job)).toBeNull();
    expect(log.size()).toMatchObject({ events: 0, jobs: 0, bytes: 0 });
    await log.close();
  });

  it('drops a subscription-only job entry on unsubscribe', async () => {
    const log = new MemoryEventLog({ retentionMs: 1000 });
    const sub = await log.subscribe(newJobId(), () => {});
    expect(log.size().jobs).toBe(1);
    sub.unsubscribe();
    expect(log.size().jobs).toBe(0);
    await log.close();
  });
});
