import { describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { START, newJobId, type AgentEvent, type EventPosition } from '@jobstream/contracts';
import {
  EventLogUnavailableError,
  LiveHub,
  MemoryEventLog,
  ReplaySource,
  pagedReader,
  type EventLog,
  type HubSink,
  type LoggedEvent,
} from '@jobstream/event-log';
import { waitFor } from '../../libs/contracts/src/testing/wait.js';
import { frameOf } from '../sse/sse-frames.js';
import { JobStreamService } from './job-stream.service.js';
import { retryDelayMs } from './stream-session.js';

const token = (text: string): AgentEvent => ({ type: 'token', text });
const seqOf = (frame: string) => Number(/"seq":(\d+)/.exec(frame)![1]);

/** `log` with its reads going through `read` (its readers too). */
function withRead(log: EventLog, read: EventLog['read']): EventLog {
  const wrapped: EventLog = {
    append: (id, input) => log.append(id, input),
    read,
    last: (id) => log.last(id),
    first: (id) => log.first(id),
    subscribe: (id, l) => log.subscribe(id, l),
    delete: (id) => log.delete(id),
    close: () => log.close(),
    openReader: (id) => pagedReader(wrapped, id),
    hasRoom: () => true,
    usage: () => log.usage(),
  };
  return wrapped;
}

describe('JobStreamService', () => {
  it('grows the retry delay from 250 ms to at most 5 s', () => {
    const mid = () => 0.5;
    expect([1, 2, 3, 4, 5, 6, 7, 20].map((n) => retryDelayMs(n, mid))).toEqual([
      250, 500, 1000, 2000, 4000, 5000, 5000, 5000,
    ]);
    expect(retryDelayMs(1, () => 0)).toBeGreaterThanOrEqual(187);
    expect(retryDelayMs(30, () => 0.999)).toBeLessThanOrEqual(6250);
  });

  it('keeps an open stream while the log cannot be read, retrying with backoff, and ends it exactly', async () => {
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => {});
    const log = new MemoryEventLog({ retentionMs: 60_000 });
    let outage = true;
    let reads = 0;
    const flaky = withRead(log, async (id, after, limit) => {
      reads++;
      if (outage) throw new EventLogUnavailableError('no leader for JOBSTREAM_EVENTS');
      return log.read(id, after, limit);
    });
    const hub = new LiveHub<string>(flaky, frameOf);
    const service = new JobStreamService(new ReplaySource(flaky, hub), hub);
    const job = newJobId();
    for (let i = 1; i <= 3; i++) await log.append(job, { event: token(`${i} `), attempt: 1 });
    const frames: string[] = [];
    let completed = false;
    let failed: unknown = null;
    const sub = service
      .open(job, { after: START, last: null, ended: false }, { whenWritable: async () => {} })
      .subscribe({
        next: (f) => frames.push(f),
        complete: () => (completed = true),
        error: (e) => (failed = e),
      });
    // While the log cannot be read the stream stays open and retries, spaced out, not in a tight loop.
    const opened = Date.now();
    await waitFor(() => reads >= 2, { message: 'a retried read' });
    await log.append(job, { event: token('4 '), attempt: 1 }); // live events keep coming meanwhile
    await waitFor(() => reads >= 3, { message: 'another retried read' });
    expect(failed).toBeNull();
    expect(completed).toBe(false);
    // every retry waits at least 187 ms (250 ms less its jitter): a bound a slow machine only stays further below
    expect(reads).toBeLessThanOrEqual(1 + Math.floor((Date.now() - opened) / 187));
    outage = false;
    await log.append(job, {
      event: { type: 'done', usage: { input_tokens: 0, output_tokens: 4 }, output: { text: '' } },
      attempt: 1,
    });
    await waitFor(() => completed || failed !== null, { message: 'the stream to end' });
    expect(failed).toBeNull();
    expect(completed).toBe(true);
    expect(frames.map(seqOf)).toEqual([1, 2, 3, 4, 5]);
    sub.unsubscribe();
    await log.close();
  });

  it("once live, passes the hub's events on without a sequencer: duplicates dropped, a gap read from the log, then live again", async () => {
    const log = new MemoryEventLog({ retentionMs: 60_000 });
    const job = newJobId();
    const events: LoggedEvent[] = [];
    for (let i = 1; i <= 6; i++) events.push(await log.append(job, { event: token(`${i} `), attempt: 1 }));
    let reads = 0;
    const counting = withRead(log, async (id, after, limit) => {
      reads++;
      return log.read(id, after, limit);
    });
    // a hub that hands the test the session's sink (the real hub delivers dense seq order; this one lets the test
    // send duplicates and jumps), and a replay source that counts its open readers
    let sink: HubSink<string> | null = null;
    let left = 0;
    let readers = 0;
    const hub = {
      subscribe: async (_id: string, s: HubSink<string>) => {
        sink = s;
        return () => left++;
      },
    } as unknown as LiveHub<string>;
    const replay = {
      reader: (id: string) => {
        readers++;
        return {
          read: (after: EventPosition, limit: number) => counting.read(id, after, limit),
          close: () => readers--,
        };
      },
    } as unknown as ReplaySource;
    const service = new JobStreamService(replay, hub);
    const frames: string[] = [];
    let completed = false;
    const session = service.open(job, { after: START, last: null, ended: false }, { whenWritable: async () => {} });
    const sub = session.subscribe({ next: (f) => frames.push(f), complete: () => (completed = true), error: () => {} });
    const until = async (what: () => boolean) => {
      const deadline = Date.now() + 5_000;
      while (!what() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      expect(what()).toBe(true);
    };
    const heldSequencer = () => (session as unknown as { sequencer: unknown }).sequencer;
    // the replay (events 1–6 from the log), then live: the sequencer is gone
    await until(() => frames.length === 6 && heldSequencer() === null);
    expect(frames.map(seqOf)).toEqual([1, 2, 3, 4, 5, 6]);
    const readsWhenLive = reads;
    // live: a duplicate is dropped, the next event goes straight through (no read, no sequencer)
    sink!.next(events[5]!, frameOf(events[5]!));
    const e7 = await log.append(job, { event: token('7 '), attempt: 1 });
    sink!.next(e7, frameOf(e7));
    expect(frames.map(seqOf)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(heldSequencer()).toBeNull();
    expect(reads).toBe(readsWhenLive);
    // a jump past seq 8: 8 is read from the log, then 9, in order
    const e8 = await log.append(job, { event: token('8 '), attempt: 1 });
    const e9 = await log.append(job, { event: token('9 '), attempt: 1 });
    sink!.next(e9, frameOf(e9));
    await until(() => frames.length === 9);
    expect(frames.map(seqOf)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(reads).toBeGreaterThan(readsWhenLive);
    sink!.next(e8, frameOf(e8)); // late duplicate
    // live again: the next event drops the idle sequencer and goes straight through
    const done = await log.append(job, {
      event: { type: 'done', usage: { input_tokens: 0, output_tokens: 9 }, output: { text: '' } },
      attempt: 1,
    });
    sink!.next(done, frameOf(done));
    expect(frames.map(seqOf)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(heldSequencer()).toBeNull();
    expect(completed).toBe(true);
    sub.unsubscribe();
    expect(left).toBe(1);
    expect(readers).toBe(0); // every reader closed
    await log.close();
  });
});
