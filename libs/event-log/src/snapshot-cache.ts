/**
 * Job states at any seq without a full replay per request: a process-wide, memory-bounded cache of reduced states
 * ({@link reduceJobEvent}) per job. Details: docs/internals.md.
 */
import { initialJobState, reduceJobEvent, type EventPosition, type JobState } from '@jobstream/contracts';
import { DEFAULT_PAGE_BYTES, jobIdOf, seqOf, type EventLog, type LoggedEvent } from './event-log.port.js';

export interface SnapshotCacheOptions {
  /** Events between checkpoints (default 1024). */
  checkpointEvery?: number;
  /** Approximate memory bound over all jobs, in bytes (default 64 MiB). */
  maxBytes?: number;
  /** Events per log read (default 2000). */
  pageSize?: number;
}

/** A state and the log position of its last event (pos 0 at seq 0). */
export interface PositionedState {
  state: JobState;
  pos: number;
}

/** The log no longer holds events the state needs (retention removed them). */
export class SnapshotUnavailableError extends Error {
  override readonly name = 'SnapshotUnavailableError';
}

interface Checkpoint {
  pos: number;
  /** The state with empty strings; `textLen`/`thinkingLen` say how much of its epoch's strings belong to it. */
  state: JobState;
  textLen: number;
  thinkingLen: number;
  epoch: number;
}

interface Entry {
  frontier: PositionedState;
  /** `attempt` events reduced up to the frontier. */
  epoch: number;
  checkpoints: Checkpoint[];
  /** Final text and thinking of earlier epochs that have checkpoints. */
  epochTexts: Map<number, { text: string; thinking: string }>;
  bytes: number;
  /** Dropped from the cache (a request still holding it may use it; it no longer counts). */
  evicted: boolean;
  /** The frontier's advance in flight: concurrent requests wait for it instead of reading the same events. */
  advancing: Promise<void> | null;
}

const CHECKPOINT_BYTES = 96;

export class SnapshotCache {
  private readonly entries = new Map<string, Entry>();
  private totalBytes = 0;
  private readonly every: number;
  private readonly maxBytes: number;
  private readonly pageSize: number;
  /** Events read from the log to compute states (for the bench and metrics). */
  eventsRead = 0;

  constructor(
    private readonly log: EventLog,
    opts: SnapshotCacheOptions = {},
  ) {
    this.every = Math.max(1, opts.checkpointEvery ?? 1024);
    this.maxBytes = opts.maxBytes ?? 64 * 1024 * 1024;
    this.pageSize = opts.pageSize ?? 2000;
  }

  /** The job's state after the event at `at` (`at.seq` 0 ⇒ the initial state). The caller checked `at` exists. */
  async stateAt(jobId: string, at: EventPosition): Promise<PositionedState> {
    if (at.seq <= 0) return { state: initialJobState(), pos: 0 };
    const entry = this.touch(jobId);
    if (at.seq >= entry.frontier.state.seq) {
      await this.advance(jobId, entry, at.seq);
      if (entry.frontier.state.seq === at.seq) return entry.frontier;
    }
    // before the frontier: from the nearest checkpoint (or the start)
    const cp = this.checkpointBefore(entry, at.seq);
    let cur: PositionedState = cp
      ? { state: this.restore(entry, cp), pos: cp.pos }
      : { state: initialJobState(), pos: 0 };
    while (cur.state.seq < at.seq) {
      const page = await this.read(jobId, cur, at.seq - cur.state.seq);
      for (const e of page) cur = { state: reduceJobEvent(cur.state, e.event), pos: e.pos };
    }
    return cur;
  }

  /**
   * A live event of the job (the hub calls this once per event, in seq order): moves a cached frontier on when the
   * event is the next one. Jobs without an entry are left alone (nobody asked for their state here).
   */
  observe(e: LoggedEvent): void {
    // the job's id and seq without parsing the event: jobs nobody asked a snapshot of cost no parse
    const entry = this.entries.get(jobIdOf(e));
    if (entry && seqOf(e) === entry.frontier.state.seq + 1) this.apply(entry, e);
  }

  /** Drops a job's entry (e.g. the job was deleted). */
  forget(jobId: string): void {
    const entry = this.entries.get(jobId);
    if (!entry) return;
    this.entries.delete(jobId);
    entry.evicted = true;
    this.totalBytes -= entry.bytes;
  }

  stats(): { jobs: number; bytes: number; eventsRead: number } {
    return { jobs: this.entries.size, bytes: this.totalBytes, eventsRead: this.eventsRead };
  }

  private touch(jobId: string): Entry {
    let entry = this.entries.get(jobId);
    if (entry) {
      this.entries.delete(jobId); // re-insert: most recently used last
    } else {
      entry = {
        frontier: { state: initialJobState(), pos: 0 },
        epoch: 0,
        checkpoints: [],
        epochTexts: new Map(),
        bytes: 0,
        evicted: false,
        advancing: null,
      };
    }
    this.entries.set(jobId, entry);
    return entry;
  }

  private async advance(jobId: string, entry: Entry, seq: number): Promise<void> {
    while (entry.frontier.state.seq < seq) {
      if (entry.advancing) {
        // another request reads the same events: wait for it (its failure is its own; this one then reads itself)
        await entry.advancing.catch(() => undefined);
        continue;
      }
      const run = this.advanceFrom(jobId, entry, seq);
      entry.advancing = run;
      try {
        await run;
      } finally {
        if (entry.advancing === run) entry.advancing = null;
      }
    }
    this.evict();
  }

  private async advanceFrom(jobId: string, entry: Entry, seq: number): Promise<void> {
    while (entry.frontier.state.seq < seq) {
      const page = await this.read(jobId, entry.frontier, seq - entry.frontier.state.seq);
      for (const e of page) {
        // the hub may have moved the frontier meanwhile: apply only the next event
        if (e.event.seq === entry.frontier.state.seq + 1) this.apply(entry, e);
      }
    }
  }

  private apply(entry: Entry, e: LoggedEvent): void {
    const before = entry.frontier.state;
    if (e.event.type === 'attempt') {
      if (entry.checkpoints.some((c) => c.epoch === entry.epoch)) {
        entry.epochTexts.set(entry.epoch, { text: before.text, thinking: before.thinking });
      }
      entry.epoch++;
    }
    const state = reduceJobEvent(before, e.event);
    entry.frontier = { state, pos: e.pos };
    if (state.seq % this.every === 0) {
      entry.checkpoints.push({
        pos: e.pos,
        state: { ...state, text: '', thinking: '' },
        textLen: state.text.length,
        thinkingLen: state.thinking.length,
        epoch: entry.epoch,
      });
    }
    this.resize(entry);
  }

  private restore(entry: Entry, cp: Checkpoint): JobState {
    const src = cp.epoch === entry.epoch ? entry.frontier.state : entry.epochTexts.get(cp.epoch);
    if (!src) throw new Error(`snapshot cache: no text kept for epoch ${cp.epoch}`);
    return { ...cp.state, text: src.text.slice(0, cp.textLen), thinking: src.thinking.slice(0, cp.thinkingLen) };
  }

  private checkpointBefore(entry: Entry, seq: number): Checkpoint | undefined {
    const cps = entry.checkpoints;
    let lo = 0;
    let hi = cps.length - 1;
    let found: Checkpoint | undefined;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (cps[mid]!.state.seq <= seq) {
        found = cps[mid];
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  /** The next events after `from`, at most `want`; checks they continue densely. */
  private async read(jobId: string, from: PositionedState, want: number): Promise<LoggedEvent[]> {
    // byte-bounded too: a page of huge events is reduced a megabyte at a time (the callers loop to their seq)
    const page = await this.log.read(
      jobId,
      { seq: from.state.seq, pos: from.pos },
      Math.min(this.pageSize, want),
      DEFAULT_PAGE_BYTES,
    );
    this.eventsRead += page.length;
    const first = page[0];
    if (!first) throw new SnapshotUnavailableError(`job ${jobId} has no events after seq ${from.state.seq}`);
    for (let i = 0; i < page.length; i++) {
      if (page[i]!.event.seq !== from.state.seq + 1 + i) {
        throw new SnapshotUnavailableError(`events of job ${jobId} after seq ${from.state.seq} are no longer retained`);
      }
    }
    return page;
  }

  private resize(entry: Entry): void {
    const s = entry.frontier.state;
    let bytes = 2 * (s.text.length + s.thinking.length) + CHECKPOINT_BYTES * entry.checkpoints.length;
    for (const t of entry.epochTexts.values()) bytes += 2 * (t.text.length + t.thinking.length);
    if (!entry.evicted) this.totalBytes += bytes - entry.bytes;
    entry.bytes = bytes;
  }

  private evict(): void {
    for (const [jobId, entry] of this.entries) {
      if (this.totalBytes <= this.maxBytes || this.entries.size <= 1) return;
      this.entries.delete(jobId);
      entry.evicted = true;
      this.totalBytes -= entry.bytes;
    }
  }
}
