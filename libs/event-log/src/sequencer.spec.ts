import { describe, expect, it } from '@jest/globals';
import { START, newJobId, type EventPosition } from '@jobstream/contracts';
import type { LoggedEvent } from './event-log.port.js';
import { MemoryEventLog } from './memory-event-log.js';
import { Sequencer } from './sequencer.js';
import { waitFor } from '../../contracts/src/testing/wait.js';

async function logWith(n: number) {
  const log = new MemoryEventLog({ retentionMs: 3_600_000 });
  const job = newJobId();
  const events: LoggedEvent[] = [];
  for (let i = 0; i < n; i++)
    events.push(await log.append(job, { event: { type: 'token', text: `${i}` }, attempt: 1 }));
  return { log, job, events };
}

const settle = () => new Promise((r) => setTimeout(r, 30));

describe('Sequencer', () => {
  it('replays from a position, then passes live events through, each once, in order', async () => {
    const { log, job, events } = await logWith(10);
    const out: number[] = [];
    const seq = new Sequencer({
      start: { seq: 3, pos: events[2]!.pos },
      fetch: (after, limit) => log.read(job, after, limit),
      emit: (e) => out.push(e.event.seq),
      onError: (e) => {
        throw e;
      },
      pageSize: 3,
    });
    // live events that overlap the replay arrive while it runs
    const replay = seq.catchUp();
    seq.push(events[8]!);
    seq.push(events[9]!);
    await replay;
    const live = await log.append(job, { event: { type: 'token', text: 'new' }, attempt: 1 });
    seq.push(live);
    seq.push(live);
    await settle();
    expect(out).toEqual([4, 5, 6, 7, 8, 9, 10, 11]);
    await log.close();
  });

  it('backfills a gap in live delivery from the log before going on', async () => {
    const { log, job, events } = await logWith(8);
    const out: number[] = [];
    const seq = new Sequencer({
      start: null,
      fetch: (after, limit) => log.read(job, after, limit),
      emit: (e) => out.push(e.event.seq),
      onError: (e) => {
        throw e;
      },
    });
    seq.push(events[0]!);
    seq.push(events[1]!);
    seq.push(events[5]!); // 3, 4, 5 were lost by the broker
    seq.push(events[4]!); // late duplicate of something backfilled
    await settle();
    seq.push(events[6]!);
    seq.push(events[7]!);
    expect(out).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    await log.close();
  });

  it('reports events that expired from the log instead of skipping them', async () => {
    const { log, job, events } = await logWith(5);
    let lost: [EventPosition, number] | null = null;
    const out: number[] = [];
    const seq = new Sequencer({
      start: START,
      fetch: async (after, limit) => (await log.read(job, after, limit)).filter((e) => e.event.seq > 2),
      emit: (e) => out.push(e.event.seq),
      onError: () => {},
      onLost: (last, first) => {
        lost = [last, first.event.seq];
      },
    });
    await seq.catchUp();
    expect(out).toEqual([]);
    expect(lost).toEqual([START, 3]);
    seq.push(events[0]!);
    expect(out).toEqual([]);
    await log.close();
  });

  it('stops on a read failure and reports it once', async () => {
    const errors: unknown[] = [];
    const seq = new Sequencer({
      start: START,
      fetch: async () => {
        throw new Error('down');
      },
      emit: () => {},
      onError: (e) => errors.push(e),
    });
    await seq.catchUp();
    await seq.catchUp();
    expect(errors).toHaveLength(1);
  });

  it('reads pages bounded in bytes as well as in events (at least one event each), and still reaches the end', async () => {
    const log = new MemoryEventLog({ retentionMs: 3_600_000 });
    const job = newJobId();
    for (let i = 0; i < 40; i++)
      await log.append(job, { event: { type: 'token', text: 'x'.repeat(1000) }, attempt: 1 });
    const pages: number[] = [];
    const out: number[] = [];
    const seq = new Sequencer({
      start: START,
      fetch: async (after, limit, maxBytes) => {
        const page = await log.read(job, after, limit, maxBytes);
        pages.push(page.length);
        return page;
      },
      pageSize: 1000,
      pageBytes: 5000, // an event's JSON is a little over 1,000 characters: 5 per page
      emit: (e) => out.push(e.event.seq),
      onError: (e) => {
        throw e;
      },
    });
    await seq.catchUp();
    expect(out).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(pages.slice(0, 8)).toEqual([5, 5, 5, 5, 5, 5, 5, 5]);
    // one event bigger than the bound still makes a page of one
    await log.append(job, { event: { type: 'token', text: 'y'.repeat(20_000) }, attempt: 1 });
    expect(await log.read(job, { seq: 40, pos: 0 }, 1000, 5000)).toHaveLength(1);
    await log.close();
  });

  it('holds at most its cap of live events while reading, and still emits every event once, in order', async () => {
    const { log, job, events } = await logWith(3);
    const out: number[] = [];
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    let held = 0;
    const seq: Sequencer = new Sequencer({
      start: START,
      fetch: async (after, limit, maxBytes) => {
        await gate; // a slow reader: the replay's first page waits while the job goes on live
        return log.read(job, after, limit, maxBytes);
      },
      pageSize: 50,
      maxPendingEvents: 20,
      emit: (e) => out.push(e.event.seq),
      onError: (e) => {
        throw e;
      },
    });
    const replay = seq.catchUp();
    seq.push(events[0]!);
    for (let i = 0; i < 500; i++) {
      const e = await log.append(job, { event: { type: 'token', text: `live ${i}` }, attempt: 1 });
      seq.push(e);
      held = Math.max(held, seq.held().events);
    }
    expect(held).toBe(20); // not 500
    release();
    await replay;
    await waitFor(() => out.length === 503, { timeoutMs: 5_000, message: 'every event' });
    expect(out).toEqual(Array.from({ length: 503 }, (_, i) => i + 1));
    expect(seq.held().events).toBe(0);
    expect(seq.idle()).toBe(true);
    await log.close();
  });

  it('caps the held live events in bytes too', async () => {
    const { log, job } = await logWith(1);
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const out: number[] = [];
    const seq = new Sequencer({
      start: START,
      fetch: async (after, limit, maxBytes) => {
        await gate;
        return log.read(job, after, limit, maxBytes);
      },
      maxPendingBytes: 50_000,
      emit: (e) => out.push(e.event.seq),
      onError: (e) => {
        throw e;
      },
    });
    const replay = seq.catchUp();
    for (let i = 0; i < 100; i++)
      seq.push(await log.append(job, { event: { type: 'token', text: 'z'.repeat(10_000) }, attempt: 1 }));
    expect(seq.held().bytes).toBeLessThanOrEqual(50_000);
    expect(seq.held().events).toBeLessThanOrEqual(5);
    release();
    await replay;
    await waitFor(() => out.length === 101, { timeoutMs: 5_000, message: 'every event' });
    expect(out).toEqual(Array.from({ length: 101 }, (_, i) => i + 1));
    await log.close();
  });
});
