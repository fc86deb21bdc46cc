/**
 * The EventLog conformance suite: every driver (memory, JetStream) must pass it unchanged.
 * Call it from a spec file with a factory that builds a fresh log for the given options.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { InvalidEventError, START, newJobId, type AgentEvent } from '@jobstream/contracts';
import { sleep, waitFor } from '../../../contracts/src/testing/wait.js';
import {
  EventLogFullError,
  JobLogClosedError,
  LogRollbackError,
  StaleAttemptError,
  eventSize,
  positionOf,
  type EventLog,
  type LoggedEvent,
} from '../event-log.port.js';
import { Sequencer } from '../sequencer.js';

export interface EventLogFactoryOptions {
  /** Retention for this log instance (ms). */
  retentionMs: number;
  /** A log of (about) this many bytes (JetStream: the stream's size; memory: the budget), for the full-log test. */
  maxBytes?: number;
}

export type EventLogFactory = (opts: EventLogFactoryOptions) => Promise<EventLog>;

const token = (text: string): AgentEvent => ({ type: 'token', text });
const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const done = (text = ''): AgentEvent => ({
  type: 'done',
  usage: { input_tokens: 1, output_tokens: 2 },
  output: { text },
});

export interface EventLogConformanceOptions {
  retentionTestMs?: number;
  /**
   * Makes the driver's store lose the job's events after `keepSeq` while `log` (the instance that appended them)
   * still remembers them — what a broker failover that rolls back acknowledged writes does.
   */
  rollback: (log: EventLog, jobId: string, keepSeq: number) => Promise<void>;
}

export function eventLogConformance(driver: string, factory: EventLogFactory, opts: EventLogConformanceOptions): void {
  describe(`EventLog conformance: ${driver}`, () => {
    const logs: EventLog[] = [];
    const make = async (o: Partial<EventLogFactoryOptions> = {}) => {
      const log = await factory({ retentionMs: 3_600_000, ...o });
      logs.push(log);
      return log;
    };
    afterEach(async () => {
      await Promise.all(logs.splice(0).map((l) => l.close()));
    });

    it('stamps events with a dense seq from 1, the job id, the attempt and an ISO time', async () => {
      const log = await make();
      const job = newJobId();
      const a = await log.append(job, { event: token('a'), attempt: 1 });
      const b = await log.append(job, { event: token('b'), attempt: 2 });
      expect(a.event).toMatchObject({ job_id: job, seq: 1, attempt: 1, type: 'token', text: 'a' });
      expect(b.event).toMatchObject({ job_id: job, seq: 2, attempt: 2, type: 'token', text: 'b' });
      expect(new Date(a.event.ts).toISOString()).toBe(a.event.ts);
      expect(b.pos).toBeGreaterThan(a.pos);
    });

    it('keeps seq per job, independent of other jobs', async () => {
      const log = await make();
      const [j1, j2] = [newJobId(), newJobId()];
      await log.append(j1, { event: token('x'), attempt: 1 });
      await log.append(j2, { event: token('y'), attempt: 1 });
      const second = await log.append(j1, { event: token('z'), attempt: 1 });
      expect(second.event.seq).toBe(2);
      expect((await log.read(j2, START, 10)).map((e) => e.event.seq)).toEqual([1]);
    });

    it('reads everything from the start, after any position, and honors the limit', async () => {
      const log = await make();
      const job = newJobId();
      const appended: LoggedEvent[] = [];
      for (let i = 0; i < 25; i++) appended.push(await log.append(job, { event: token(`t${i} `), attempt: 1 }));
      const all = await log.read(job, START, 100);
      expect(all.map((e) => e.event.seq)).toEqual(appended.map((e) => e.event.seq));
      expect(all.map((e) => e.pos)).toEqual(appended.map((e) => e.pos));
      for (const k of [0, 1, 7, 24]) {
        const after = { seq: appended[k]!.event.seq, pos: appended[k]!.pos };
        const rest = await log.read(job, after, 100);
        expect(rest.map((e) => e.event.seq)).toEqual(appended.slice(k + 1).map((e) => e.event.seq));
      }
      const page = await log.read(job, START, 10);
      expect(page.map((e) => e.event.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect(await log.read(job, { seq: 25, pos: appended[24]!.pos }, 10)).toEqual([]);
    });

    it('ends a page at its byte bound too (after the event that reaches it; at least one event), short reads and long', async () => {
      const log = await make();
      const job = newJobId();
      const appended: LoggedEvent[] = [];
      for (let i = 0; i < 150; i++)
        appended.push(await log.append(job, { event: token(`${i}`.padEnd(1000, '.')), attempt: 1 }));
      const size = eventSize(appended[0]!); // every event the same size, a little over 1,000
      const seqs = (page: LoggedEvent[]) => page.map((e) => e.event.seq);
      // a long read (past the drivers' short-read path) and a short one
      expect(seqs(await log.read(job, START, 1000, 100 * size))).toEqual(range(1, 100));
      expect(seqs(await log.read(job, positionOf(appended[9]!), 1000, 3 * size - 1))).toEqual([11, 12, 13]);
      expect(seqs(await log.read(job, positionOf(appended[9]!), 2, 3 * size))).toEqual([11, 12]); // events first
      expect(seqs(await log.read(job, START, 1000, 1))).toEqual([1]); // at least one
      // page after page to the end
      let after = START;
      const seen: number[] = [];
      for (;;) {
        const page = await log.read(job, after, 1000, 20 * size);
        if (page.length === 0) break;
        expect(page.length).toBeLessThanOrEqual(20);
        seen.push(...seqs(page));
        after = positionOf(page.at(-1)!);
      }
      expect(seen).toEqual(range(1, 150));
      // a sequential reader (one server-side cursor for the replay) keeps the same page rule
      const reader = log.openReader(job);
      try {
        let at = START;
        const pages: number[] = [];
        const got: number[] = [];
        for (;;) {
          const page = await reader.read(at, 1000, 30 * size);
          if (page.length === 0) break;
          pages.push(page.length);
          got.push(...seqs(page));
          at = positionOf(page.at(-1)!);
        }
        expect(got).toEqual(range(1, 150));
        expect(pages).toEqual([30, 30, 30, 30, 30]);
      } finally {
        reader.close();
      }
    });

    it("deletes one job's events and nothing else, on every handle", async () => {
      const log = await make();
      const other = await make();
      const a = newJobId();
      const b = newJobId();
      for (const t of ['x ', 'y ']) {
        await log.append(a, { event: token(t), attempt: 1 });
        await log.append(b, { event: token(t), attempt: 1 });
      }
      await log.append(a, { event: done('x y '), attempt: 1 });
      await other.delete(a);
      expect(await log.read(a, START, 10)).toEqual([]);
      expect(await log.last(a)).toBeNull();
      expect(await log.first(a)).toBeNull();
      expect(await other.last(a)).toBeNull();
      expect((await log.read(b, START, 10)).map((e) => e.event.seq)).toEqual([1, 2]);
      await log.delete(newJobId()); // unknown: nothing happens
    });

    it('answers an unknown job with nothing', async () => {
      const log = await make();
      const job = newJobId();
      expect(await log.read(job, START, 10)).toEqual([]);
      expect(await log.last(job)).toBeNull();
      expect(await log.first(job)).toBeNull();
    });

    it('reports the first and last event', async () => {
      const log = await make();
      const job = newJobId();
      await log.append(job, { event: { type: 'status', status: 'queued' }, attempt: 1 });
      await log.append(job, { event: token('hi'), attempt: 1 });
      expect((await log.first(job))?.event).toMatchObject({ seq: 1, type: 'status' });
      expect((await log.last(job))?.event).toMatchObject({ seq: 2, type: 'token', text: 'hi' });
    });

    it("refuses an attempt event whose attempt differs from the append's", async () => {
      const log = await make();
      const job = newJobId();
      await expect(
        log.append(job, { event: { type: 'attempt', attempt: 3, reason: 'x' }, attempt: 2 }),
      ).rejects.toBeInstanceOf(InvalidEventError);
      expect(await log.last(job)).toBeNull();
    });

    it('refuses a malformed or unknown event and stores nothing', async () => {
      const log = await make();
      const job = newJobId();
      await log.append(job, { event: token('ok'), attempt: 1 });
      const bad: unknown[] = [
        { type: 'telepathy', text: 'x' },
        { type: 'token' },
        { type: 'token', text: 42 },
        { type: 'token', text: 'x', extra: true },
        { type: 'done', usage: { input_tokens: -1, output_tokens: 0 }, output: { text: '' } },
        { type: 'tool_call_end', call_id: 'c', name: 'n' },
        null,
      ];
      for (const event of bad) {
        await expect(log.append(job, { event: event as AgentEvent, attempt: 1 })).rejects.toBeInstanceOf(
          InvalidEventError,
        );
      }
      expect((await log.last(job))?.event.seq).toBe(1);
      const next = await log.append(job, { event: token('still dense'), attempt: 1 });
      expect(next.event.seq).toBe(2);
    });

    it('accepts every event type of the contract', async () => {
      const log = await make();
      const job = newJobId();
      const usage = { input_tokens: 3, output_tokens: 4 };
      const events: AgentEvent[] = [
        { type: 'status', status: 'running' },
        { type: 'token', text: 'a' },
        { type: 'thinking', text: 'hmm' },
        { type: 'tool_call_start', call_id: 'c1', name: 'lookup', arguments: { q: 1 } },
        { type: 'tool_call_end', call_id: 'c1', name: 'lookup', result: { ok: true } },
        { type: 'tool_call_end', call_id: 'c2', name: 'lookup', error: 'boom' },
        { type: 'attempt', attempt: 1, reason: 'first' },
        { type: 'input_required', request_id: 'r1', prompt: 'approve?', schema: { type: 'boolean' } },
        { type: 'error', code: 'agent_failed', message: 'x', retryable: false, usage },
      ];
      for (const event of events) await log.append(job, { event, attempt: 1 });
      const read = await log.read(job, START, 100);
      expect(read.map((e) => e.event.type)).toEqual(events.map((e) => e.type));
      expect(read[3]!.event).toMatchObject({ arguments: { q: 1 } });
      const other = newJobId();
      await log.append(other, { event: { type: 'cancelled', reason: 'user', usage }, attempt: 1 });
      expect((await log.last(other))?.event).toMatchObject({ type: 'cancelled', reason: 'user', usage });
    });

    it('closes the log after a terminal event', async () => {
      const log = await make();
      const job = newJobId();
      await log.append(job, { event: token('a'), attempt: 1 });
      await log.append(job, { event: done('a'), attempt: 1 });
      await expect(log.append(job, { event: token('late'), attempt: 1 })).rejects.toBeInstanceOf(JobLogClosedError);
      await expect(
        log.append(job, {
          event: { type: 'cancelled', reason: 'r', usage: { input_tokens: 0, output_tokens: 0 } },
          attempt: 1,
        }),
      ).rejects.toBeInstanceOf(JobLogClosedError);
      expect((await log.last(job))?.event).toMatchObject({ seq: 2, type: 'done' });
    });

    it('treats the firstEvent hint as a hint: a log that is not empty numbers, fences and closes as without it', async () => {
      const log = await make();
      const other = await make();
      const fresh = newJobId();
      expect((await log.append(fresh, { event: token('a'), attempt: 1, firstEvent: true })).event.seq).toBe(1);
      const job = newJobId();
      await other.append(job, { event: token('a'), attempt: 1 });
      await other.append(job, { event: token('b'), attempt: 2 });
      // a wrong hint from an instance that never saw the job: numbered after the events already there
      expect((await log.append(job, { event: token('c'), attempt: 2, firstEvent: true })).event).toMatchObject({
        seq: 3,
        text: 'c',
      });
      const stale = newJobId();
      await other.append(stale, { event: token('a'), attempt: 2 });
      await expect(log.append(stale, { event: token('late'), attempt: 1, firstEvent: true })).rejects.toBeInstanceOf(
        StaleAttemptError,
      );
      const ended = newJobId();
      await other.append(ended, { event: done('x'), attempt: 1 });
      await expect(log.append(ended, { event: token('late'), attempt: 1, firstEvent: true })).rejects.toBeInstanceOf(
        JobLogClosedError,
      );
      expect((await log.read(job, START, 10)).map((e) => e.event.seq)).toEqual([1, 2, 3]);
      expect((await log.read(ended, START, 10)).map((e) => e.event.type)).toEqual(['done']);
    });

    it('treats the lastEvent hint as a hint: right or stale, the append is numbered, fenced and closed as without it', async () => {
      const log = await make();
      const other = await make();
      const hint = (e: { event: { seq: number; attempt: number }; pos: number }) => ({
        seq: e.event.seq,
        pos: e.pos,
        attempt: e.event.attempt,
      });
      // right: the dispatcher's first event, then the runner's append from an instance that never saw the job
      const job = newJobId();
      const first = await other.append(job, { event: token('a'), attempt: 1, firstEvent: true });
      expect((await log.append(job, { event: token('b'), attempt: 1, lastEvent: hint(first) })).event.seq).toBe(2);
      // stale: events were appended after the hinted one
      const moved = newJobId();
      const old = await other.append(moved, { event: token('a'), attempt: 1 });
      await other.append(moved, { event: token('b'), attempt: 1 });
      const fresh = await make();
      expect((await fresh.append(moved, { event: token('c'), attempt: 1, lastEvent: hint(old) })).event).toMatchObject({
        seq: 3,
        text: 'c',
      });
      // the log moved on to a newer attempt, or ended, after the hinted event
      const stale = newJobId();
      const s1 = await other.append(stale, { event: token('a'), attempt: 1 });
      await other.append(stale, { event: token('b'), attempt: 2 });
      const fresh2 = await make();
      await expect(
        fresh2.append(stale, { event: token('late'), attempt: 1, lastEvent: hint(s1) }),
      ).rejects.toBeInstanceOf(StaleAttemptError);
      const ended = newJobId();
      const e1 = await other.append(ended, { event: token('a'), attempt: 1 });
      await other.append(ended, { event: done('x'), attempt: 1 });
      const fresh3 = await make();
      await expect(
        fresh3.append(ended, { event: token('late'), attempt: 1, lastEvent: hint(e1) }),
      ).rejects.toBeInstanceOf(JobLogClosedError);
      expect((await log.read(job, START, 10)).map((e) => e.event.seq)).toEqual([1, 2]);
      expect((await log.read(moved, START, 10)).map((e) => e.event.seq)).toEqual([1, 2, 3]);
      expect((await log.read(ended, START, 10)).map((e) => e.event.type)).toEqual(['token', 'done']);
    });

    it('gives dense, unique seqs to concurrent appenders', async () => {
      const log = await make();
      const other = await make();
      const job = newJobId();
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, i) => (i % 2 ? log : other).append(job, { event: token(`${i}`), attempt: 1 })),
      );
      const seqs = results.map((r) => r.event.seq).sort((a, b) => a - b);
      expect(seqs).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
      const read = await log.read(job, START, 100);
      expect(read.map((e) => e.event.seq)).toEqual(seqs);
      expect(new Set(read.map((e) => (e.event as { text: string }).text)).size).toBe(40);
    });

    it('lets exactly one of several racing terminal events in', async () => {
      const log = await make();
      const other = await make();
      const job = newJobId();
      await log.append(job, { event: token('a'), attempt: 1 });
      const usage = { input_tokens: 0, output_tokens: 1 };
      const settled = await Promise.allSettled([
        log.append(job, { event: done('a'), attempt: 1 }),
        other.append(job, { event: { type: 'cancelled', reason: 'user', usage }, attempt: 1 }),
        log.append(job, {
          event: { type: 'error', code: 'worker_lost', message: 'x', retryable: false, usage },
          attempt: 1,
        }),
      ]);
      expect(settled.filter((s) => s.status === 'fulfilled')).toHaveLength(1);
      for (const s of settled) if (s.status === 'rejected') expect(s.reason).toBeInstanceOf(JobLogClosedError);
      const all = await log.read(job, START, 10);
      expect(all).toHaveLength(2);
    });

    it('refuses an append from an attempt older than the newest event, whoever appended that', async () => {
      const log = await make();
      const other = await make();
      const job = newJobId();
      await log.append(job, { event: token('a'), attempt: 1 });
      await other.append(job, { event: { type: 'attempt', attempt: 2, reason: 'worker_lost' }, attempt: 2 });
      await expect(log.append(job, { event: token('late'), attempt: 1 })).rejects.toBeInstanceOf(StaleAttemptError);
      expect((await log.append(job, { event: token('b'), attempt: 2 })).event).toMatchObject({ seq: 3, attempt: 2 });
      expect((await log.read(job, START, 10)).map((e) => e.event.attempt)).toEqual([1, 2, 2]);
    });

    it('never numbers over a hole a rollback left: only the voiding attempt event follows it, after the lost seqs', async () => {
      const log = await make();
      const job = newJobId();
      const appended: LoggedEvent[] = [];
      for (let i = 1; i <= 5; i++)
        appended.push(await log.append(job, { event: token(`t${i} `), attempt: 1, dedupId: `${job}:1:${i}` }));
      await opts.rollback(log, job, 3); // seq 4 and 5 were acknowledged, and are gone
      expect((await log.last(job))?.event.seq).toBe(3);
      const refused = await log.append(job, { event: token('over the hole'), attempt: 1 }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(LogRollbackError);
      expect(refused).toMatchObject({ acknowledged: 5, found: 3 });
      await expect(
        log.append(job, { event: { type: 'attempt', attempt: 2, reason: 'worker_lost' }, attempt: 2 }),
      ).rejects.toBeInstanceOf(LogRollbackError);
      await expect(
        log.append(job, { event: { type: 'attempt', attempt: 1, reason: 'log_rollback' }, attempt: 1 }),
      ).rejects.toBeInstanceOf(LogRollbackError);
      expect((await log.last(job))?.event.seq).toBe(3);

      const voiding = await log.append(job, {
        event: { type: 'attempt', attempt: 2, reason: 'log_rollback' },
        attempt: 2,
        dedupId: `${job}:2:r`,
      });
      expect(voiding.event).toMatchObject({ seq: 6, type: 'attempt', attempt: 2, reason: 'log_rollback' });
      const next = await log.append(job, { event: token('again '), attempt: 2 });
      expect(next.event.seq).toBe(7);

      expect((await log.read(job, START, 100)).map((e) => e.event.seq)).toEqual([1, 2, 3, 6, 7]);
      expect((await log.read(job, positionOf(appended[2]!), 100)).map((e) => e.event.seq)).toEqual([6, 7]);
      // a reader whose cursor is inside the hole (it saw seq 5 before the rollback) goes on with the voiding event
      expect((await log.read(job, positionOf(appended[4]!), 100)).map((e) => e.event.seq)).toEqual([6, 7]);
      // and a reader's sequencer takes the jump onto the voiding event as the next event, not as lost events
      const emitted: number[] = [];
      const lost: unknown[] = [];
      const seqr = new Sequencer({
        start: START,
        fetch: (after, limit) => log.read(job, after, limit),
        emit: (e) => emitted.push(e.event.seq),
        onError: (err) => lost.push(err),
        onLost: (last) => lost.push(last),
      });
      await seqr.catchUp();
      expect(lost).toEqual([]);
      expect(emitted).toEqual([1, 2, 3, 6, 7]);
    });

    it('does not append twice for a retried dedup id', async () => {
      const log = await make();
      const job = newJobId();
      const a = await log.append(job, { event: token('once'), attempt: 1, dedupId: `${job}:1:1` });
      const again = await log.append(job, { event: token('once'), attempt: 1, dedupId: `${job}:1:1` });
      expect(again.event.seq).toBe(a.event.seq);
      expect(again.pos).toBe(a.pos);
      const b = await log.append(job, { event: token('next'), attempt: 1, dedupId: `${job}:1:2` });
      expect(b.event.seq).toBe(2);
      expect(await log.read(job, START, 10)).toHaveLength(2);
    });

    it('delivers live events appended after subscribe, in order, until unsubscribed', async () => {
      const log = await make();
      const writer = await make();
      const job = newJobId();
      await writer.append(job, { event: token('before'), attempt: 1 });
      const got: number[] = [];
      const sub = await log.subscribe(job, (e) => got.push(e.event.seq));
      for (let i = 0; i < 20; i++) await writer.append(job, { event: token(`${i}`), attempt: 1 });
      await waitFor(() => got.length >= 20);
      expect(got).toEqual(Array.from({ length: 20 }, (_, i) => i + 2));
      sub.unsubscribe();
      sub.unsubscribe();
      await writer.append(job, { event: token('after'), attempt: 1 });
      await sleep(100); // a late delivery would show up by now (a window for a negative check, not a sync)
      expect(got).toHaveLength(20);
    });

    it('delivers live events with the same position a read gives', async () => {
      const log = await make();
      const job = newJobId();
      const got: LoggedEvent[] = [];
      const sub = await log.subscribe(job, (e) => got.push(e));
      await log.append(job, { event: token('a'), attempt: 1 });
      await log.append(job, { event: token('b'), attempt: 1 });
      await waitFor(() => got.length >= 2);
      const read = await log.read(job, START, 10);
      expect(got.map((e) => [e.event.seq, e.pos])).toEqual(read.map((e) => [e.event.seq, e.pos]));
      expect(got[1]!.event).toEqual(read[1]!.event);
      sub.unsubscribe();
    });

    it('delivers a job only its own events', async () => {
      const log = await make();
      const [j1, j2] = [newJobId(), newJobId()];
      const got: string[] = [];
      const sub = await log.subscribe(j1, (e) => got.push(e.event.job_id));
      await log.append(j2, { event: token('other'), attempt: 1 });
      await log.append(j1, { event: token('mine'), attempt: 1 });
      await waitFor(() => got.length >= 1);
      await sleep(50); // the same, for an event of the other job
      expect(got).toEqual([j1]);
      sub.unsubscribe();
    });

    it('removes events older than the retention', async () => {
      const retentionMs = opts.retentionTestMs ?? 300;
      const log = await make({ retentionMs });
      const job = newJobId();
      await log.append(job, { event: token('old'), attempt: 1 });
      expect(await log.first(job)).not.toBeNull();
      await waitFor(async () => (await log.first(job)) === null, { timeoutMs: retentionMs + 15_000 });
      expect(await log.read(job, START, 10)).toEqual([]);
    });

    it('when full, refuses new work and non-terminal appends, still takes terminal events, and evicts no running job', async () => {
      const probe = await make();
      const log = await make({ maxBytes: probe.usage().bytes + 1024 * 1024 });
      expect(log.hasRoom()).toBe(true);
      const [early, filler] = [newJobId(), newJobId()];
      for (let i = 0; i < 5; i++) await log.append(early, { event: token(`e${i} `), attempt: 1 });
      const text = 'x'.repeat(16 * 1024);
      let refused: unknown = null;
      let n = 0;
      for (; n < 500 && refused === null; n++) {
        await log.append(filler, { event: token(text), attempt: 1 }).catch((err: unknown) => (refused = err));
      }
      n--; // the refused one
      expect(refused).toBeInstanceOf(EventLogFullError);
      expect(n).toBeGreaterThan(10);
      expect(log.hasRoom()).toBe(false);
      await expect(log.append(early, { event: token(text), attempt: 1 })).rejects.toBeInstanceOf(EventLogFullError);
      // every running job can still end
      const usage = { input_tokens: 0, output_tokens: 0 };
      const ended = await log.append(filler, {
        event: { type: 'error', code: 'event_log_full', message: 'full', retryable: true, usage },
        attempt: 1,
      });
      expect(ended.event.seq).toBe(n + 1);
      expect((await log.append(early, { event: done('e'), attempt: 1 })).event.seq).toBe(6);
      // nothing acknowledged was evicted
      expect((await log.read(early, START, 100)).map((e) => e.event.seq)).toEqual([1, 2, 3, 4, 5, 6]);
      const all = await log.read(filler, START, 1000);
      expect(all.map((e) => e.event.seq)).toEqual(Array.from({ length: n + 1 }, (_, i) => i + 1));
      // deleting a job frees its room
      await log.delete(filler);
      await waitFor(() => log.hasRoom(), { timeoutMs: 5_000, message: 'room after the delete' });
    });
  });
}
