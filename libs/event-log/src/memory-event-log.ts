/**
 * The embedded engine's event log: in-process, with the same contract as the JetStream driver.
 *
 * Bounded two ways:
 * - **Age**: events older than `retentionMs` are removed, oldest first (swept on append, on read and by a timer).
 * - **Memory budget** (`maxEvents`, `maxBytes`; EMBEDDED_MAX_EVENTS / EMBEDDED_MAX_BYTES): when the log holds more,
 *   the oldest *finished* jobs (terminal event appended, nobody streaming them right now) are evicted whole, so
 *   their cursors answer 410 `cursor_expired` rather than a resume with a hole. Running jobs are never cut: when
 *   running jobs alone fill the budget, {@link MemoryEventLog.hasRoom} says no (the API refuses new jobs with 503)
 *   and a further non-terminal append is refused with {@link EventLogFullError} (the runner ends that job with an
 *   `error` event). Terminal events are always accepted, so every job can still end.
 *
 * Bytes are an estimate: the event's JSON length plus {@link EVENT_OVERHEAD_BYTES} for the objects around it
 * (calibrated against the heap by `bench/memory-per-event.mjs`; see bench/README.md).
 */
import { isTerminalEvent, type EventPosition, type JobEvent } from '@jobstream/contracts';
import {
  EventLogFullError,
  JobLogClosedError,
  LOG_ROLLBACK_REASON,
  LogRollbackError,
  StaleAttemptError,
  type AppendInput,
  type EventListener,
  type EventLog,
  type EventLogCapacity,
  type EventReader,
  type LiveSubscription,
  type LoggedEvent,
  pagedReader,
  takeWithinBytes,
} from './event-log.port.js';
import { stampEvent } from './stamp.js';

export interface MemoryEventLogOptions {
  /** How long events stay (ms). */
  retentionMs: number;
  /** Most events held over all jobs (default 2,000,000). */
  maxEvents?: number;
  /** Most bytes held over all jobs, as estimated (default 1 GiB). */
  maxBytes?: number;
  /** How often expired events are swept (ms). */
  sweepIntervalMs?: number;
  now?: () => number;
}

/** Heap bytes around one retained event beyond its JSON text (stamped object, LoggedEvent, slots); see bench/. */
export const EVENT_OVERHEAD_BYTES = 184;

/** The estimate the budget is checked against: what one retained event costs. */
export function estimateEventBytes(event: JobEvent): number {
  return JSON.stringify(event).length + EVENT_OVERHEAD_BYTES;
}

const DEDUP_WINDOW = 1024;

interface JobLog {
  events: LoggedEvent[];
  /** Bytes (estimated) of each event in `events`, same index. */
  sizes: number[];
  /** Index of the oldest retained event in `events`. */
  head: number;
  lastSeq: number;
  /** Highest seq ever appended (and so acknowledged); above `lastSeq` only after {@link MemoryEventLog.simulateRollback}. */
  ackedSeq: number;
  /** Attempt of the newest event. */
  lastAttempt: number;
  terminal: LoggedEvent | null;
  listeners: Set<EventListener>;
  dedup: Map<string, LoggedEvent>;
  /** Bytes of the retained events. */
  bytes: number;
  /** Evicted by the memory budget: no events, but still closed (a tombstone until its held entries expire). */
  evicted: boolean;
  /** Entries of this log still in the age queue. */
  held: number;
}

interface Held {
  jobId: string;
  log: JobLog;
  at: number;
  dedupId: string | undefined;
}

export class MemoryEventLog implements EventLog, EventLogCapacity {
  private readonly jobs = new Map<string, JobLog>();
  /** Every held event in append order, for retention. */
  private readonly held: Held[] = [];
  private heldHead = 0;
  private nextPos = 1;
  private readonly timer: NodeJS.Timeout;
  readonly maxEvents: number;
  readonly maxBytes: number;
  private readonly now: () => number;
  /** Retained events and bytes, over all jobs and over the jobs that have not ended. */
  private totalEvents = 0;
  private totalBytes = 0;
  private activeEvents = 0;
  private activeBytes = 0;
  /** Finished jobs in the order they ended: the eviction order. */
  private finished: JobLog[] = [];
  private readonly ids = new WeakMap<JobLog, string>();
  private evictedJobs = 0;

  constructor(private readonly opts: MemoryEventLogOptions) {
    this.maxEvents = opts.maxEvents ?? 2_000_000;
    this.maxBytes = opts.maxBytes ?? 1024 * 1024 * 1024;
    this.now = opts.now ?? Date.now;
    this.timer = setInterval(
      () => this.sweep(),
      opts.sweepIntervalMs ?? Math.min(10_000, Math.max(50, opts.retentionMs)),
    );
    this.timer.unref();
  }

  async append(jobId: string, input: AppendInput): Promise<LoggedEvent> {
    const log = this.jobs.get(jobId) ?? this.newJob(jobId);
    if (input.dedupId !== undefined) {
      const seen = log.dedup.get(input.dedupId);
      if (seen) return seen;
    }
    if (log.terminal) throw new JobLogClosedError(jobId, log.terminal);
    if (input.attempt < log.lastAttempt) throw new StaleAttemptError(jobId, input.attempt, log.lastAttempt);
    let seq = log.lastSeq + 1;
    if (log.lastSeq < log.ackedSeq) {
      // a hole: only the attempt event that voids the lost events may follow it, numbered after them
      const e = input.event;
      if (e.type !== 'attempt' || e.reason !== LOG_ROLLBACK_REASON || input.attempt <= log.lastAttempt) {
        throw new LogRollbackError(jobId, log.ackedSeq, log.lastSeq);
      }
      seq = log.ackedSeq + 1;
    }
    const event = stampEvent(jobId, seq, input);
    const size = estimateEventBytes(event);
    const terminal = isTerminalEvent(event);
    if (!terminal && !this.makeRoom(1, size)) {
      throw new EventLogFullError(
        `the embedded event log is full (${this.totalEvents} events, ${this.totalBytes} bytes held by running jobs; budget ${this.maxEvents} events, ${this.maxBytes} bytes)`,
      );
    }
    const logged: LoggedEvent = { event, pos: this.nextPos++, size: size - EVENT_OVERHEAD_BYTES };
    log.lastSeq = event.seq;
    log.ackedSeq = event.seq;
    log.lastAttempt = event.attempt;
    log.events.push(logged);
    log.sizes.push(size);
    log.bytes += size;
    this.totalEvents++;
    this.totalBytes += size;
    if (terminal) {
      log.terminal = logged;
      // the job's events stop counting as running work: they are the first to go when memory is needed
      this.activeEvents -= log.events.length - log.head - 1;
      this.activeBytes -= log.bytes - size;
      this.finished.push(log);
    } else {
      this.activeEvents++;
      this.activeBytes += size;
    }
    if (input.dedupId !== undefined) {
      log.dedup.set(input.dedupId, logged);
      // A retry follows its failed attempt closely: a bounded window is enough (JetStream's is time-bounded too).
      if (log.dedup.size > DEDUP_WINDOW) log.dedup.delete(log.dedup.keys().next().value!);
    }
    this.held.push({ jobId, log, at: this.now(), dedupId: input.dedupId });
    log.held++;
    // (a terminal event may pass the budget by its own size: the job stays readable until room is needed)
    this.sweep();
    for (const l of log.listeners) {
      try {
        l(logged);
      } catch {
        /* a listener's failure is its own; delivery to the others goes on */
      }
    }
    return logged;
  }

  async read(jobId: string, after: EventPosition, limit: number, maxBytes?: number): Promise<LoggedEvent[]> {
    this.sweep();
    const log = this.jobs.get(jobId);
    if (!log) return [];
    const { events, head } = log;
    if (head >= events.length) return [];
    // seq strictly increases (dense, except across a rollback's hole): binary search the first one after the cursor
    let lo = head;
    let hi = events.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (events[mid]!.event.seq <= after.seq) lo = mid + 1;
      else hi = mid;
    }
    return events.slice(lo, lo + takeWithinBytes(events, lo, Math.max(1, limit), maxBytes));
  }

  async last(jobId: string): Promise<LoggedEvent | null> {
    this.sweep();
    const log = this.jobs.get(jobId);
    return log && log.head < log.events.length ? log.events[log.events.length - 1]! : null;
  }

  async first(jobId: string): Promise<LoggedEvent | null> {
    this.sweep();
    const log = this.jobs.get(jobId);
    return log && log.head < log.events.length ? log.events[log.head]! : null;
  }

  async subscribe(jobId: string, listener: EventListener): Promise<LiveSubscription> {
    const log = this.jobs.get(jobId) ?? this.newJob(jobId);
    log.listeners.add(listener);
    let active = true;
    return {
      unsubscribe: () => {
        if (!active) return;
        active = false;
        log.listeners.delete(listener);
        this.dropIfEmpty(jobId, log);
      },
    };
  }

  async delete(jobId: string): Promise<void> {
    const log = this.jobs.get(jobId);
    if (!log) return;
    // its events stop counting at once; its entries in `held` are skipped by the sweep and age out with the others
    if (!log.evicted && !log.terminal) {
      this.activeEvents -= log.events.length - log.head;
      this.activeBytes -= log.bytes;
    }
    this.release(log);
    this.jobs.delete(jobId);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
  }

  /**
   * Test hook: what a broker failover that lost acknowledged events does — the job's events after `keepSeq` vanish
   * (their dedup ids too), while this instance still remembers having appended them.
   */
  simulateRollback(jobId: string, keepSeq: number): void {
    const log = this.jobs.get(jobId);
    if (!log) return;
    const keep = log.events.filter((e, i) => i < log.head || e.event.seq <= keepSeq);
    const dropped = log.events.slice(keep.length);
    // the budget's counters follow the events that vanished
    const droppedBytes = log.sizes.slice(keep.length).reduce((t, n) => t + n, 0);
    this.totalEvents -= dropped.length;
    this.totalBytes -= droppedBytes;
    log.bytes -= droppedBytes;
    if (!log.terminal) {
      this.activeEvents -= dropped.length;
      this.activeBytes -= droppedBytes;
    } else if (dropped.includes(log.terminal)) {
      // the job runs again: what is left of it counts as running work (and it is no longer evictable)
      this.activeEvents += keep.length - log.head;
      this.activeBytes += log.bytes;
      this.finished = this.finished.filter((f) => f !== log);
    }
    log.sizes = log.sizes.slice(0, keep.length);
    log.events = keep;
    for (const [k, v] of log.dedup) if (dropped.includes(v)) log.dedup.delete(k);
    const last = keep.length > log.head ? keep[keep.length - 1]! : null;
    log.lastSeq = last ? last.event.seq : 0;
    log.lastAttempt = last ? last.event.attempt : 0;
    if (log.terminal && dropped.includes(log.terminal)) log.terminal = null;
  }

  /** What the log holds now (for tests, metrics and the budget's 503). */
  size(): {
    events: number;
    jobs: number;
    bytes: number;
    runningEvents: number;
    runningBytes: number;
    evictedJobs: number;
  } {
    return {
      events: this.totalEvents,
      jobs: this.jobs.size,
      bytes: this.totalBytes,
      runningEvents: this.activeEvents,
      runningBytes: this.activeBytes,
      evictedJobs: this.evictedJobs,
    };
  }

  /** Pages straight from memory: nothing to keep between them. */
  openReader(jobId: string): EventReader {
    return pagedReader(this, jobId);
  }

  usage() {
    const s = this.size();
    return { ...s, maxEvents: this.maxEvents, maxBytes: this.maxBytes };
  }

  /**
   * Room for a new job: false when the jobs that have not ended hold 90 % of the budget or more (finished jobs do
   * not count: they are evicted when room is needed). The rest is left for the running jobs to finish.
   */
  hasRoom(): boolean {
    return this.activeEvents < this.maxEvents * 0.9 && this.activeBytes < this.maxBytes * 0.9;
  }

  private newJob(jobId: string): JobLog {
    const log: JobLog = {
      events: [],
      sizes: [],
      head: 0,
      lastSeq: 0,
      ackedSeq: 0,
      lastAttempt: 0,
      terminal: null,
      listeners: new Set(),
      dedup: new Map(),
      bytes: 0,
      evicted: false,
      held: 0,
    };
    this.jobs.set(jobId, log);
    this.ids.set(log, jobId);
    return log;
  }

  /**
   * Evicts the oldest finished jobs nobody is streaming until `events` more events of `bytes` fit the budget.
   * False when they cannot: what is left belongs to running jobs (or to finished jobs being streamed right now).
   */
  private makeRoom(events: number, bytes: number): boolean {
    let i = 0;
    while (this.totalEvents + events > this.maxEvents || this.totalBytes + bytes > this.maxBytes) {
      // drop the front entries that are gone already (evicted, or expired by age)
      while (this.finished.length > 0 && this.gone(this.finished[0]!)) this.finished.shift();
      while (i < this.finished.length && (this.gone(this.finished[i]!) || this.finished[i]!.listeners.size > 0)) i++;
      if (i >= this.finished.length) return false;
      const victim = this.finished[i]!;
      this.finished.splice(i, 1);
      this.evict(victim);
    }
    return true;
  }

  private gone(log: JobLog): boolean {
    return log.evicted || log.head >= log.events.length;
  }

  /** Frees a job's events and takes them off the totals (a deleted job, an evicted one). */
  private release(log: JobLog): void {
    this.totalEvents -= log.events.length - log.head;
    this.totalBytes -= log.bytes;
    log.events = [];
    log.sizes = [];
    log.head = 0;
    log.bytes = 0;
    log.evicted = true;
    log.dedup.clear();
  }

  /** Removes a finished job's events; a tombstone stays (closed, no events) so its cursors answer 410. */
  private evict(log: JobLog): void {
    this.release(log);
    this.evictedJobs++;
    const id = this.ids.get(log);
    if (id !== undefined) this.dropIfEmpty(id, log);
  }

  /** Removes expired events, oldest first. */
  private sweep(): void {
    const cutoff = this.now() - this.opts.retentionMs;
    while (this.heldHead < this.held.length) {
      const h = this.held[this.heldHead]!;
      if (h.at > cutoff) break;
      this.heldHead++;
      const log = h.log;
      log.held--;
      if (!log.evicted && log.head < log.events.length) {
        const size = log.sizes[log.head]!;
        log.head++;
        log.bytes -= size;
        this.totalEvents--;
        this.totalBytes -= size;
        if (!log.terminal) {
          this.activeEvents--;
          this.activeBytes -= size;
        }
        if (h.dedupId !== undefined) log.dedup.delete(h.dedupId);
        if (log.head > 1024 && log.head * 2 > log.events.length) {
          log.events = log.events.slice(log.head);
          log.sizes = log.sizes.slice(log.head);
          log.head = 0;
        }
      }
      this.dropIfEmpty(h.jobId, log);
    }
    if (this.heldHead > 4096 && this.heldHead * 2 > this.held.length) {
      this.held.splice(0, this.heldHead);
      this.heldHead = 0;
    }
  }

  private dropIfEmpty(jobId: string, log: JobLog): void {
    if (
      log.head >= log.events.length &&
      log.listeners.size === 0 &&
      (!log.evicted || log.held === 0) &&
      this.jobs.get(jobId) === log
    ) {
      this.jobs.delete(jobId);
    }
  }
}
