import { describe, expect, it } from '@jest/globals';
import { START, newJobId } from '../../contracts/src/index.js';
import { MemoryEventLog } from './memory-event-log.js';
import { eventLogConformance } from './testing/event-log.conformance.js';

// Two "appenders" in the conformance suite share one engine, as two components of one process do.
let shared: MemoryEventLog | null = null;
eventLogConformance('memory', async ({ retentionMs }) => {
  if (!shared || (shared as unknown as { opts: { retentionMs: number } }).opts.retentionMs !== retentionMs) {
    shared = new MemoryEventLog({ retentionMs });
  }
  const engine = shared;
  // close() of one handle must not stop the other handles of the same engine.
  return Object.assign(Object.create(engine) as MemoryEventLog, { close: async () => {} });
}, { rollback: async (log, jobId, keepSeq) => (log as MemoryEventLog).simulateRollback(jobId, keepSeq) });

describe('MemoryEventLog bounds', () => {
  it('holds at most maxEvents, dropping the oldest first', async () => {
    const log = new MemoryEventLog({ retentionMs: 3_600_000, maxEvents: 10 });
    const job = newJobId();
    for (let i = 0; i < 25; i++) await log.append(job, { event: { type: 'token', text: `${i}` }, attempt: 1 });
    expect(log.size().events).toBe(10);
    const kept = await log.read(job, START, 100);
    expect(kept.map((e) => e.event.seq)).toEqual([16, 17, 18, 19, 20, 21, 22, 23, 24, 25]);
    expect((await log.first(job))?.event.seq).toBe(16);
    // seq stays dense after eviction
    expect((await log.append(job, { event: { type: 'token', text: 'x' }, attempt: 1 })).event.seq).toBe(26);
    await log.close();
  });

  it('forgets a job whose events all expired and that nobody listens to', async () => {
    let now = 1_000;
    const log = new MemoryEventLog({ retentionMs: 100, now: () => now });
    const job = newJobId();
    await log.append(job, { event: { type: 'token', text: 'a' }, attempt: 1 });
    now += 500;
    expect(await log.first(job)).toBeNull();
    expect(log.size()).toEqual({ events: 0, jobs: 0 });
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
