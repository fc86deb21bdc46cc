import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { newJobId, type JobEvent } from '@jobstream/contracts';
import { waitFor } from '../../contracts/src/testing/wait.js';
import type { EventLog, LoggedEvent } from './event-log.port.js';
import { HOT_EVENT_OVERHEAD_BYTES, HotCache } from './hot-cache.js';
import { LiveHub } from './live-hub.js';
import { MemoryEventLog } from './memory-event-log.js';
import { ReplaySource } from './replay-source.js';

function ev(
  seq: number,
  type: 'token' | 'attempt' | 'done' = 'token',
  extra: Record<string, unknown> = {},
): LoggedEvent {
  const event = {
    type,
    seq,
    attempt: 1,
    ts: '2026-11-27T00:00:00.000Z',
    job_id: 'j',
    ...(type === 'token' ? { text: 'x' } : {}),
    ...extra,
  } as unknown as JobEvent;
  return { event, pos: seq * 10, json: JSON.stringify(event) };
}

const seqs = (es: LoggedEvent[] | null) => (es ? es.map((e) => e.event.seq) : null);

describe('HotCache', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  it('serves a cursor within the window from memory, densely, and misses before it', () => {
    const c = new HotCache({ maxEvents: 100 });
    for (let s = 5; s <= 12; s++) c.observe('a', ev(s));
    expect(c.window('a')).toEqual({ base: 4, last: 12 });
    expect(seqs(c.read('a', { seq: 4, pos: 40 }, 3))).toEqual([5, 6, 7]);
    expect(seqs(c.read('a', { seq: 9, pos: 90 }, 100))).toEqual([10, 11, 12]);
    expect(c.read('a', { seq: 12, pos: 120 }, 10)).toEqual([]); // at the end: the rest comes live
    expect(c.read('a', { seq: 3, pos: 30 }, 10)).toBeNull(); // before the window
    expect(c.read('b', { seq: 0, pos: 0 }, 10)).toBeNull(); // no window
    expect(c.stats()).toMatchObject({ hits: 3, misses: 2, jobs: 1, events: 8 });
  });

  it('keeps the newest maxEvents per job and moves its start on', () => {
    const c = new HotCache({ maxEvents: 3 });
    for (let s = 1; s <= 10; s++) c.observe('a', ev(s));
    expect(c.window('a')).toEqual({ base: 7, last: 10 });
    expect(c.read('a', { seq: 6, pos: 60 }, 10)).toBeNull();
    expect(seqs(c.read('a', { seq: 7, pos: 70 }, 10))).toEqual([8, 9, 10]);
    expect(c.stats().events).toBe(3);
  });

  it('keeps at most maxJobBytes per job (but always the newest event)', () => {
    const size = HOT_EVENT_OVERHEAD_BYTES + ev(10).json!.length; // seqs 10–20 have the same size
    const c = new HotCache({ maxEvents: 1000, maxJobBytes: size * 4 });
    for (let s = 1; s <= 20; s++) c.observe('a', ev(s));
    expect(c.window('a')).toEqual({ base: 16, last: 20 });
    expect(c.stats().bytes).toBe(size * 4);
    const tiny = new HotCache({ maxEvents: 1000, maxJobBytes: 1024 });
    tiny.observe('b', ev(1, 'token', { text: 'y'.repeat(5000) }));
    expect(tiny.window('b')).toEqual({ base: 0, last: 1 });
  });

  it('evicts the least recently fed job when the total passes maxBytes', () => {
    const size = HOT_EVENT_OVERHEAD_BYTES + ev(1).json!.length;
    const c = new HotCache({ maxEvents: 1000, maxBytes: size * 4 + 1 });
    c.observe('a', ev(1));
    c.observe('b', ev(1));
    c.observe('a', ev(2)); // a is now the most recently used
    c.observe('c', ev(1));
    c.observe('c', ev(2)); // 5 events > 4: b, the least recently fed, goes
    expect(c.window('b')).toBeNull();
    expect(c.window('a')).toEqual({ base: 0, last: 2 });
    expect(c.window('c')).toEqual({ base: 0, last: 2 });
    expect(c.stats()).toMatchObject({ evictions: 1, jobs: 2, events: 4, bytes: size * 4 });
  });

  it('restarts the window at a gap, an attempt event or a rollback jump: it never spans them', () => {
    const c = new HotCache({ maxEvents: 100 });
    for (let s = 1; s <= 5; s++) c.observe('a', ev(s));
    c.observe('a', ev(8)); // gap 6–7
    expect(c.window('a')).toEqual({ base: 7, last: 8 });
    expect(c.read('a', { seq: 5, pos: 50 }, 10)).toBeNull();
    c.observe('a', ev(9));
    c.observe('a', ev(10, 'attempt', { attempt: 2, reason: 'retry' }));
    expect(c.window('a')).toEqual({ base: 9, last: 10 });
    c.observe('a', ev(11));
    c.observe('a', ev(20, 'attempt', { attempt: 3, reason: 'log_rollback' })); // the log's own jump
    expect(c.window('a')).toEqual({ base: 19, last: 20 });
    expect(seqs(c.read('a', { seq: 19, pos: 0 }, 10))).toEqual([20]);
    expect(c.read('a', { seq: 11, pos: 110 }, 10)).toBeNull();
    c.observe('a', ev(20)); // a duplicate changes nothing
    expect(c.stats().events).toBe(1);
  });

  it('drops a finished job after the grace period, and on demand', () => {
    jest.useFakeTimers();
    const c = new HotCache({ maxEvents: 100, graceMs: 1000 });
    c.observe('a', ev(1));
    c.observe('a', ev(2, 'done'));
    c.observe('b', ev(1));
    jest.advanceTimersByTime(999);
    expect(seqs(c.read('a', { seq: 0, pos: 0 }, 10))).toEqual([1, 2]);
    jest.advanceTimersByTime(1);
    expect(c.window('a')).toBeNull();
    c.drop('b');
    expect(c.stats()).toMatchObject({ jobs: 0, events: 0, bytes: 0 });
  });

  it('is off with maxEvents 0', () => {
    const c = new HotCache({ maxEvents: 0 });
    c.observe('a', ev(1));
    expect(c.enabled).toBe(false);
    expect(c.read('a', { seq: 0, pos: 0 }, 1)).toBeNull();
  });
});

describe('HotCache.holds', () => {
  it('vouches for a cursor from the window start to its newest event, and only for windows younger than maxAgeMs', () => {
    const c = new HotCache({ maxEvents: 100, maxAgeMs: 60_000 });
    for (let s = 5; s <= 8; s++) c.observe('a', ev(s));
    const now = Date.parse('2026-11-27T00:00:30.000Z');
    expect(c.holds('a', { seq: 4, pos: 40 }, now)?.event.seq).toBe(8); // the window's base: every event after it
    expect(c.holds('a', { seq: 8, pos: 80 }, now)?.event.seq).toBe(8); // at the newest: the rest comes live
    expect(c.holds('a', { seq: 3, pos: 30 }, now)).toBeNull(); // before the window
    expect(c.holds('a', { seq: 9, pos: 90 }, now)).toBeNull(); // ahead of what the window knows: ask the log
    expect(c.holds('b', { seq: 0, pos: 0 }, now)).toBeNull();
    // the oldest event is past the log's retention: the log may no longer serve the cursor, so no vouching
    expect(c.holds('a', { seq: 4, pos: 40 }, Date.parse('2026-11-27T00:01:00.001Z'))).toBeNull();
    expect(c.stats()).toMatchObject({ hits: 0, misses: 0 });
  });
});

const append = (log: MemoryEventLog, job: string, n: number) =>
  (async () => {
    for (let i = 0; i < n; i++) await log.append(job, { event: { type: 'token', text: `t${i}` }, attempt: 1 });
  })();

/** The log with its subscriptions and reads counted. */
function counted(log: MemoryEventLog) {
  const counts = { subscribes: 0, reads: 0, lasts: 0, firsts: 0 };
  const wrapped: EventLog = Object.assign(Object.create(log) as EventLog, {
    subscribe: (jobId: string, l: (e: LoggedEvent) => void) => {
      counts.subscribes++;
      return log.subscribe(jobId, l);
    },
    read: (jobId: string, after: { seq: number; pos: number }, limit: number) => {
      counts.reads++;
      return log.read(jobId, after, limit);
    },
    last: (jobId: string) => {
      counts.lasts++;
      return log.last(jobId);
    },
    first: (jobId: string) => {
      counts.firsts++;
      return log.first(jobId);
    },
  });
  return { wrapped, counts };
}

describe('LiveHub.prewarm (a job just created)', () => {
  it('opens the feed before any client: the window holds the job from seq 1, a client then joins it live and reads nothing', async () => {
    const log = new MemoryEventLog({ retentionMs: 60_000 });
    const { wrapped, counts } = counted(log);
    const hot = new HotCache({ maxEvents: 100, graceMs: 60_000 });
    const hub = new LiveHub(wrapped, (e) => e.event.seq, { hot });
    const replay = new ReplaySource(wrapped, hub, hot);
    const job = newJobId();
    hub.prewarm(job);
    hub.prewarm(job); // once per job
    expect(counts.subscribes).toBe(1);
    expect(hub.stats()).toEqual({ jobs: 1, sinks: 0 });
    await append(log, job, 3);
    await waitFor(() => hot.window(job)?.last === 3, { message: 'the prewarmed feed to take the first events' });
    expect(hot.window(job)).toEqual({ base: 0, last: 3 });
    expect(replay.holds(job, { seq: 0, pos: 0 })?.event.seq).toBe(3);
    // a client from the start: its catch-up comes from memory, the rest live, each event once
    const got: number[] = [];
    const leave = await hub.subscribe(job, { next: (_e, s) => got.push(s), error: () => {} });
    const reader = replay.reader(job);
    const replayed = seqs(await reader.read({ seq: 0, pos: 0 }, 100));
    await append(log, job, 2);
    expect(replayed).toEqual([1, 2, 3]);
    expect(got).toEqual([4, 5]);
    expect(counts).toEqual({ subscribes: 1, reads: 0, lasts: 0, firsts: 0 });
    reader.close();
    leave();
    hub.closeAll(new Error('end'));
    await log.close();
  });

  it("reads what the feed missed before it was live from the log, from the job's start", async () => {
    const log = new MemoryEventLog({ retentionMs: 60_000 });
    // a subscription that becomes active only after the job's first two events
    let gate!: () => void;
    let live = false;
    const late: EventLog = Object.assign(Object.create(log) as EventLog, {
      subscribe: async (jobId: string, l: (e: LoggedEvent) => void) => {
        await new Promise<void>((r) => (gate = r));
        const sub = await log.subscribe(jobId, l);
        live = true;
        return sub;
      },
    });
    const hot = new HotCache({ maxEvents: 100, graceMs: 60_000 });
    const hub = new LiveHub(late, (e) => e.event.seq, { hot });
    const job = newJobId();
    hub.prewarm(job);
    await append(log, job, 2);
    gate();
    await waitFor(() => live, { message: 'the feed to be live' });
    await new Promise((r) => setImmediate(r)); // the hub's own continuation of the subscription
    expect(hot.window(job)).toBeNull(); // it saw nothing live yet
    await append(log, job, 1); // seq 3 arrives live: 1 and 2 are read from the log first
    await waitFor(() => hot.window(job)?.last === 3, { message: 'the window to catch up' });
    expect(hot.window(job)).toEqual({ base: 0, last: 3 });
    hub.closeAll(new Error('end'));
    await log.close();
  });

  it('goes after the grace when no client comes, at once on release, and is a no-op without a hot cache', async () => {
    const log = new MemoryEventLog({ retentionMs: 60_000 });
    const hot = new HotCache({ maxEvents: 100, graceMs: 30 });
    const hub = new LiveHub(log, (e) => e.event.seq, { hot });
    const job = newJobId();
    hub.prewarm(job);
    await append(log, job, 1);
    await waitFor(() => hub.stats().jobs === 0, { message: 'the unused prewarmed feed to go after the grace' });
    expect(hot.window(job)).toBeNull();

    const other = newJobId();
    hub.prewarm(other);
    hub.release(other);
    expect(hub.stats().jobs).toBe(0);
    // release leaves a feed that a client uses alone
    const used = newJobId();
    hub.prewarm(used);
    const leave = await hub.subscribe(used, { next: () => {}, error: () => {} });
    hub.release(used);
    expect(hub.stats()).toEqual({ jobs: 1, sinks: 1 });
    leave();
    hub.closeAll(new Error('end'));

    const cold = new LiveHub(log, (e) => e.event.seq);
    cold.prewarm(newJobId());
    expect(cold.stats()).toEqual({ jobs: 0, sinks: 0 });
    const off = new LiveHub(log, (e) => e.event.seq, { hot: new HotCache({ maxEvents: 0 }) });
    off.prewarm(newJobId());
    expect(off.stats()).toEqual({ jobs: 0, sinks: 0 });
    await log.close();
  });
});

describe('LiveHub with a hot cache, read through a ReplaySource', () => {
  it('fills the window from its in-order feed only, serves readers attached to it, and keeps it for the grace after the last leaves', async () => {
    const log = new MemoryEventLog({ retentionMs: 60_000 });
    const hot = new HotCache({ maxEvents: 100, graceMs: 60_000 });
    const hub = new LiveHub(log, (e) => e.event.seq, { hot });
    const replay = new ReplaySource(log, hub, hot);
    const job = newJobId();
    await append(log, job, 3); // before the feed: not in the window
    const got: number[] = [];
    const leave = await hub.subscribe(job, { next: (_e, s) => got.push(s), error: () => {} });
    await append(log, job, 5);
    await new Promise((r) => setImmediate(r));
    expect(got).toEqual([4, 5, 6, 7, 8]);
    expect(hot.window(job)).toEqual({ base: 3, last: 8 });
    expect(seqs(replay.recent(job, { seq: 5, pos: 0 }, 10))).toEqual([6, 7, 8]);
    expect(replay.recent(job, { seq: 2, pos: 0 }, 10)).toBeNull();
    // a reader starting before the window reads the log, then the window
    const reader = replay.reader(job);
    const a = await reader.read({ seq: 0, pos: 0 }, 2);
    expect(seqs(a)).toEqual([1, 2]);
    const b = await reader.read({ seq: 2, pos: a[1]!.pos }, 10);
    expect(seqs(b)).toEqual([3, 4, 5, 6, 7, 8]);
    reader.close();
    leave();
    expect(hub.stats().jobs).toBe(1); // the feed lingers
    expect(seqs(replay.recent(job, { seq: 7, pos: 0 }, 10))).toEqual([8]);
    hub.closeAll(new Error('shutdown'));
    expect(hub.stats().jobs).toBe(0);
    expect(hot.window(job)).toBeNull(); // the feed stopped: the window goes with it
    expect(replay.recent(job, { seq: 7, pos: 0 }, 10)).toBeNull();
    await log.close();
  });

  it('restarts the window at a rollback jump: a reader after the hole gets the voiding event, one before it the log', async () => {
    const log = new MemoryEventLog({ retentionMs: 60_000 });
    const hot = new HotCache({ maxEvents: 100, graceMs: 60_000 });
    const hub = new LiveHub(log, (e) => e.event.seq, { hot });
    const replay = new ReplaySource(log, hub, hot);
    const job = newJobId();
    const got: number[] = [];
    const leave = await hub.subscribe(job, { next: (_e, s) => got.push(s), error: () => {} });
    await append(log, job, 5);
    await new Promise((r) => setImmediate(r));
    expect(hot.window(job)).toEqual({ base: 0, last: 5 });
    log.simulateRollback(job, 3); // seqs 4 and 5 were acknowledged and are gone
    await log.append(job, { event: { type: 'attempt', attempt: 2, reason: 'log_rollback' }, attempt: 2 });
    await log.append(job, { event: { type: 'token', text: 'again' }, attempt: 2 });
    await new Promise((r) => setImmediate(r));
    expect(got).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(hot.window(job)).toEqual({ base: 5, last: 7 });
    expect(seqs(replay.recent(job, { seq: 5, pos: 0 }, 10))).toEqual([6, 7]);
    expect(replay.recent(job, { seq: 3, pos: 0 }, 10)).toBeNull(); // before the jump: from the log
    const reader = replay.reader(job);
    expect(seqs(await reader.read({ seq: 2, pos: 0 }, 10))).toEqual([3, 6, 7]); // the log's view, then memory
    reader.close();
    leave();
    hub.closeAll(new Error('end'));
    await log.close();
  });

  it('tears the feed down after the grace when nobody came back', async () => {
    const log = new MemoryEventLog({ retentionMs: 60_000 });
    const hot = new HotCache({ maxEvents: 100, graceMs: 20 });
    const hub = new LiveHub(log, (e) => e.event.seq, { hot });
    const job = newJobId();
    const leave = await hub.subscribe(job, { next: () => {}, error: () => {} });
    await append(log, job, 2);
    leave();
    expect(hub.stats().jobs).toBe(1);
    const start = Date.now();
    while (hub.stats().jobs > 0 && Date.now() - start < 5_000) await new Promise((r) => setTimeout(r, 5));
    expect(hub.stats().jobs).toBe(0);
    expect(hot.window(job)).toBeNull();
    await log.close();
  });
});
