import { afterEach, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { reduceJobEvents, type AgentEvent, type JobEvent } from '@jobstream/contracts';
import { MemoryEventLog } from './memory-event-log.js';
import { SnapshotCache } from './snapshot-cache.js';

const JOB = 'job_01JX0000000000000000000001';
const logs: MemoryEventLog[] = [];
afterEach(async () => {
  for (const l of logs.splice(0)) await l.close();
});

async function logWith(events: AgentEvent[]): Promise<{ log: MemoryEventLog; all: JobEvent[]; pos: number[] }> {
  const log = new MemoryEventLog({ retentionMs: 3_600_000 });
  logs.push(log);
  // another job interleaved, so positions are not seqs
  let attempt = 1;
  const all: JobEvent[] = [];
  const pos: number[] = [0];
  for (let ev of events) {
    if (ev.type === 'attempt') ev = { ...ev, attempt: ++attempt }; // the log takes attempts in increasing order
    await log.append('job_01JX0000000000000000000002', { event: { type: 'token', text: 'x' }, attempt: 1 });
    const stored = await log.append(JOB, { event: ev, attempt });
    all.push(stored.event);
    pos.push(stored.pos);
  }
  return { log, all, pos };
}

const word = fc.constantFrom('a', 'bb', 'ccc ', 'dd ');
const event: fc.Arbitrary<AgentEvent> = fc.oneof(
  { weight: 8, arbitrary: word.map((text) => ({ type: 'token' as const, text })) },
  { weight: 3, arbitrary: word.map((text) => ({ type: 'thinking' as const, text })) },
  fc
    .constantFrom('c1', 'c2')
    .map((call_id) => ({ type: 'tool_call_start' as const, call_id, name: 't', arguments: {} })),
  fc.constantFrom('c1', 'c2').map((call_id) => ({ type: 'tool_call_end' as const, call_id, name: 't', result: 1 })),
  fc.constant({ type: 'input_required' as const, request_id: 'r1', kind: 'approval' as const, prompt: 'ok?' }),
  fc.constant({ type: 'input_received' as const, request_id: 'r1', input: { approved: true } }),
  fc.integer({ min: 2, max: 5 }).map((attempt) => ({ type: 'attempt' as const, attempt, reason: 'worker_lost' })),
);

describe('SnapshotCache', () => {
  it('answers the reducer state at every seq, in any order of requests, with small checkpoints', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(event, { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 7 }),
        fc.nat(),
        async (events, every, seed) => {
          const { log, all, pos } = await logWith(events);
          const cache = new SnapshotCache(log, { checkpointEvery: every, pageSize: 3 });
          // requests in a shuffled order: ahead of the frontier, behind it, repeated
          const order = all.map((_, i) => i + 1).sort((a, b) => ((a * 7919 + seed) % 97) - ((b * 7919 + seed) % 97));
          for (const seq of [...order, ...order.reverse()]) {
            const got = await cache.stateAt(JOB, { seq, pos: pos[seq]! });
            expect(got.state).toEqual(reduceJobEvents(all.slice(0, seq)));
            expect(got.pos).toBe(pos[seq]);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('reads each event once for states at or after the frontier, and less than a checkpoint interval before it', async () => {
    const events: AgentEvent[] = Array.from({ length: 500 }, (_, i) => ({ type: 'token', text: `t${i} ` }));
    const { log, all, pos } = await logWith(events);
    const cache = new SnapshotCache(log, { checkpointEvery: 64 });
    await cache.stateAt(JOB, { seq: 500, pos: pos[500]! });
    expect(cache.eventsRead).toBe(500);
    await cache.stateAt(JOB, { seq: 500, pos: pos[500]! });
    expect(cache.eventsRead).toBe(500);
    const before = cache.eventsRead;
    const mid = await cache.stateAt(JOB, { seq: 300, pos: pos[300]! });
    expect(mid.state.text).toBe(reduceJobEvents(all.slice(0, 300)).text);
    expect(cache.eventsRead - before).toBeLessThan(64);
  });

  it('concurrent first requests for a long job share one replay', async () => {
    const events: AgentEvent[] = Array.from({ length: 3000 }, (_, i) => ({ type: 'token', text: `t${i} ` }));
    const { log, all, pos } = await logWith(events);
    const cache = new SnapshotCache(log, { pageSize: 500 });
    const got = await Promise.all(Array.from({ length: 8 }, () => cache.stateAt(JOB, { seq: 3000, pos: pos[3000]! })));
    for (const g of got) expect(g.state.text).toBe(reduceJobEvents(all).text);
    expect(cache.eventsRead).toBe(3000);
  });

  it('follows live events handed to observe(), so "now" costs no read', async () => {
    const { log, pos } = await logWith([{ type: 'token', text: 'a' }]);
    const cache = new SnapshotCache(log);
    await cache.stateAt(JOB, { seq: 1, pos: pos[1]! });
    const next = await log.append(JOB, { event: { type: 'token', text: 'b' }, attempt: 1 });
    cache.observe(next);
    cache.observe(next); // a repeat changes nothing
    const read = cache.eventsRead;
    const now = await cache.stateAt(JOB, { seq: 2, pos: next.pos });
    expect(now.state.text).toBe('ab');
    expect(cache.eventsRead).toBe(read);
  });

  it('stays within its memory bound by dropping the least recently used jobs', async () => {
    const log = new MemoryEventLog({ retentionMs: 3_600_000 });
    logs.push(log);
    const cache = new SnapshotCache(log, { maxBytes: 10_000 });
    for (let j = 0; j < 10; j++) {
      const id = `job_01JX00000000000000000000${String(j).padStart(2, '0')}`;
      const e = await log.append(id, { event: { type: 'token', text: 'x'.repeat(2000) }, attempt: 1 });
      await cache.stateAt(id, { seq: 1, pos: e.pos });
    }
    expect(cache.stats().bytes).toBeLessThanOrEqual(10_000);
    expect(cache.stats().jobs).toBe(2);
  });

  it('reads the log in byte-bounded pages for a job of large events, and still reduces every event', async () => {
    const big = 'z'.repeat(300_000);
    const { log, all } = await logWith(Array.from({ length: 12 }, () => ({ type: 'token' as const, text: big })));
    const pages: number[] = [];
    const read = log.read.bind(log);
    log.read = async (...args) => {
      const page = await read(...args);
      pages.push(page.length);
      return page;
    };
    const cache = new SnapshotCache(log);
    const placed = await cache.stateAt(JOB, { seq: 12, pos: 0 });
    expect(placed.state.text.length).toBe(12 * big.length);
    expect(placed.state).toEqual(reduceJobEvents(all));
    expect(Math.max(...pages)).toBeLessThanOrEqual(4); // 1 MiB of 300 KB events, not all 12 at once
  });
});
