import { describe, expect, it } from '@jest/globals';
import { START, newJobId, type EventPosition } from '@jobstream/contracts';
import { eventSize, positionOf, type EventLog, type LoggedEvent } from './event-log.port.js';
import { HotCache } from './hot-cache.js';
import { MemoryEventLog } from './memory-event-log.js';
import { ReplayCursorError, ReplaySource } from './replay-source.js';

const seqs = (es: readonly LoggedEvent[] | null) => (es ? es.map((e) => e.event.seq) : null);

/**
 * A memory log of `n` token events, a hot window fed with the events after seq `base` (as the hub feeds it), a feed
 * whose liveness the test sets, and the log's reads counted (pages read, and the events they returned).
 */
async function setup(n: number, base: number | null, opts: { hot?: boolean } = {}) {
  const log = new MemoryEventLog({ retentionMs: 60_000 });
  const job = newJobId();
  const events: LoggedEvent[] = [];
  for (let i = 1; i <= n; i++)
    events.push(await log.append(job, { event: { type: 'token', text: `t${i} ` }, attempt: 1 }));
  const counts = { reads: 0, readEvents: 0, readers: 0, lookups: 0 };
  const counted: EventLog = Object.assign(Object.create(log) as EventLog, {
    read: async (id: string, after: EventPosition, limit: number, maxBytes?: number) => {
      const page = await log.read(id, after, limit, maxBytes);
      counts.reads++;
      counts.readEvents += page.length;
      return page;
    },
    openReader(this: EventLog, id: string) {
      counts.readers++;
      return log.openReader.call(this, id);
    },
    first: (id: string) => (counts.lookups++, log.first(id)),
    last: (id: string) => (counts.lookups++, log.last(id)),
  });
  const hot = new HotCache({ maxEvents: 100, graceMs: 60_000 });
  if (base !== null) for (const e of events.slice(base)) hot.observe(job, e);
  const feed = { live: true };
  const replay = new ReplaySource(counted, { isLive: () => feed.live }, opts.hot === false ? undefined : hot);
  const at = (seq: number): EventPosition => (seq === 0 ? START : positionOf(events[seq - 1]!));
  return { log, job, events, counts, hot, feed, replay, at };
}

describe('ReplaySource: the hot window or the log', () => {
  it('hit: a cursor within the window is served from memory, cursor check included — no log read, no lookup', async () => {
    const { job, counts, replay, at, log } = await setup(10, 4);
    const start = await replay.start(job, at(6), { fromMemory: true });
    expect(start).toEqual({ after: at(6), last: expect.objectContaining({ pos: at(10).pos }), ended: false });
    const reader = replay.reader(job);
    expect(seqs(await reader.read(at(6), 100))).toEqual([7, 8, 9, 10]);
    expect(await reader.read(at(10), 100)).toEqual([]); // the rest comes live
    expect(seqs(await reader.read(at(4), 3))).toEqual([5, 6, 7]); // the window's first event onwards
    reader.close();
    expect(counts).toEqual({ reads: 0, readEvents: 0, readers: 0, lookups: 0 });
    await log.close();
  });

  it('miss: a cursor before the window, or no window, is read from the log through one reader', async () => {
    const { job, counts, replay, at, log } = await setup(30, 25);
    const reader = replay.reader(job);
    // pages entirely before the window (seq 26 onwards): the log, one reader for the whole replay
    expect(seqs(await reader.read(at(0), 5))).toEqual([1, 2, 3, 4, 5]);
    expect(seqs(await reader.read(at(5), 5))).toEqual([6, 7, 8, 9, 10]);
    expect(counts).toMatchObject({ reads: 2, readEvents: 10, readers: 1 });
    reader.close();
    expect(await replay.start(job, at(3), { fromMemory: true })).toMatchObject({ after: at(3), ended: false });
    expect(counts.lookups).toBe(2); // first and last: the window does not vouch for seq 3
    const none = await setup(5, null);
    const r = none.replay.reader(none.job);
    expect(seqs(await r.read(none.at(2), 10))).toEqual([3, 4, 5]);
    expect(none.counts).toMatchObject({ reads: 1, readers: 1 });
    r.close();
    await Promise.all([log.close(), none.log.close()]);
  });

  it('partial overlap: the log only up to the window, the rest of the page from memory, in one page', async () => {
    const { job, counts, replay, at, log, events } = await setup(20, 12);
    const reader = replay.reader(job);
    expect(seqs(await reader.read(at(8), 100))).toEqual([9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
    expect(counts).toMatchObject({ reads: 1, readEvents: 4, readers: 1 }); // 9–12 from the log, 13–20 from memory
    // a byte bound still holds over both parts: the page ends after the event that reaches it
    const size = eventSize(events[10]!); // seqs 11–14 have the same size
    const page = await reader.read(at(10), 100, 4 * size);
    expect(seqs(page)).toEqual([11, 12, 13, 14]);
    reader.close();
    await log.close();
  });

  it('trusts the window only while its feed is live, and never without a hot cache', async () => {
    const { job, counts, replay, feed, at, log } = await setup(10, 0);
    feed.live = false;
    expect(replay.holds(job, at(5))).toBeNull();
    const reader = replay.reader(job);
    expect(seqs(await reader.read(at(5), 100))).toEqual([6, 7, 8, 9, 10]);
    expect(counts).toMatchObject({ reads: 1, readers: 1 });
    feed.live = true;
    expect(replay.holds(job, at(5))?.event.seq).toBe(10);
    expect(seqs(await reader.read(at(8), 100))).toEqual([9, 10]);
    expect(counts.reads).toBe(1); // from memory now
    reader.close();
    const cold = await setup(4, 0, { hot: false });
    expect(cold.replay.holds(cold.job, cold.at(1))).toBeNull();
    expect(seqs(await cold.replay.reader(cold.job).read(cold.at(1), 10))).toEqual([2, 3, 4]);
    expect(cold.counts.reads).toBe(1);
    await Promise.all([log.close(), cold.log.close()]);
  });

  it('checks a cursor against the log: ahead, expired, or a finished job whose events are gone', async () => {
    const { job, replay, log, at } = await setup(3, null);
    await expect(replay.start(job, { seq: 9, pos: 99 })).rejects.toEqual(
      new ReplayCursorError('ahead', "cursor is ahead of the job's events (last seq 3)"),
    );
    expect(await replay.start(job, at(3))).toMatchObject({ after: at(3), ended: false });
    const empty = newJobId();
    expect(await replay.start(empty, START)).toEqual({ after: START, last: null, ended: false });
    await expect(replay.start(empty, START, { jobEnded: true })).rejects.toMatchObject({ problem: 'expired' });
    await expect(replay.start(empty, { seq: 2, pos: 2 })).rejects.toMatchObject({ problem: 'expired' });
    // retention took events 1 and 2: a cursor before seq 2 lost events, one at seq 2 did not
    const third = (await log.read(job, at(2), 1))[0]!;
    const trimmed = new ReplaySource(Object.assign(Object.create(log) as EventLog, { first: async () => third }), {
      isLive: () => false,
    });
    await expect(trimmed.start(job, at(1))).rejects.toEqual(
      new ReplayCursorError('expired', 'events up to seq 2 are no longer retained'),
    );
    expect(await trimmed.start(job, at(2))).toMatchObject({ after: at(2), ended: false });
    await log.append(job, {
      event: { type: 'done', usage: { input_tokens: 0, output_tokens: 3 }, output: { text: '' } },
      attempt: 1,
    });
    expect(await replay.start(job, { seq: 4, pos: (await log.last(job))!.pos })).toMatchObject({ ended: true });
    await log.close();
  });
});
