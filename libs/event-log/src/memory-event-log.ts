/**
 * The embedded engine's event log: in-process, with the same contract as the JetStream driver.
 * Retention by age and a bound on the number of events held (oldest removed first), swept on append and by a timer.
 */
import { isTerminalEvent, type EventPosition } from '../../contracts/src/index.js';
import {
  JobLogClosedError,
  LOG_ROLLBACK_REASON,
  LogRollbackError,
  StaleAttemptError,
  type AppendInput,
  type EventListener,
  type EventLog,
  type LiveSubscription,
  type LoggedEvent,
} from './event-log.port.js';
import { stampEvent } from './stamp.js';

export interface MemoryEventLogOptions {
  /** How long events stay (ms). */
  retentionMs: number;
  /** Most events held over all jobs; the oldest go first. */
  maxEvents?: number;
  /** How often expired events are swept (ms). */
  sweepIntervalMs?: number;
  now?: () => number;
}

const DEDUP_WINDOW = 1024;

interface JobLog {
  events: LoggedEvent[];
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
}

interface Held {
  jobId: string;
  at: number;
  dedupId: string | undefined;
}

export class MemoryEventLog implements EventLog {
  private readonly jobs = new Map<string, JobLog>();
  /** Every held event in append order, for retention. */
  private readonly held: Held[] = [];
  private heldHead = 0;
  private nextPos = 1;
  private readonly timer: NodeJS.Timeout;
  private readonly maxEvents: number;
  private readonly now: () => number;

  constructor(private readonly opts: MemoryEventLogOptions) {
    this.maxEvents = opts.maxEvents ?? 1_000_000;
    this.now = opts.now ?? Date.now;
    this.timer = setInterval(() => this.sweep(), opts.sweepIntervalMs ?? Math.min(10_000, Math.max(50, opts.retentionMs)));
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
    const logged: LoggedEvent = { event, pos: this.nextPos++ };
    log.lastSeq = event.seq;
    log.ackedSeq = event.seq;
    log.lastAttempt = event.attempt;
    log.events.push(logged);
    if (input.dedupId !== undefined) {
      log.dedup.set(input.dedupId, logged);
      // A retry follows its failed attempt closely: a bounded window is enough (JetStream's is time-bounded too).
      if (log.dedup.size > DEDUP_WINDOW) log.dedup.delete(log.dedup.keys().next().value!);
    }
    if (isTerminalEvent(event)) log.terminal = logged;
    this.held.push({ jobId, at: this.now(), dedupId: input.dedupId });
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

  async read(jobId: string, after: EventPosition, limit: number): Promise<LoggedEvent[]> {
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
    return events.slice(lo, lo + Math.max(1, limit));
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
    // its entries in `held` are skipped by the sweep (the job is gone) and age out with the others
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
    log.events = keep;
    for (const [k, v] of log.dedup) if (dropped.includes(v)) log.dedup.delete(k);
    const last = keep.length > log.head ? keep[keep.length - 1]! : null;
    log.lastSeq = last ? last.event.seq : 0;
    log.lastAttempt = last ? last.event.attempt : 0;
    if (log.terminal && dropped.includes(log.terminal)) log.terminal = null;
  }

  /** Events and jobs held now (for tests and metrics). */
  size(): { events: number; jobs: number } {
    return { events: this.held.length - this.heldHead, jobs: this.jobs.size };
  }

  private newJob(jobId: string): JobLog {
    const log: JobLog = { events: [], head: 0, lastSeq: 0, ackedSeq: 0, lastAttempt: 0, terminal: null, listeners: new Set(), dedup: new Map() };
    this.jobs.set(jobId, log);
    return log;
  }

  /** Removes expired events and events over the size bound, oldest first. */
  private sweep(): void {
    const cutoff = this.now() - this.opts.retentionMs;
    while (this.heldHead < this.held.length) {
      const h = this.held[this.heldHead]!;
      const over = this.held.length - this.heldHead > this.maxEvents;
      if (!over && h.at > cutoff) break;
      this.heldHead++;
      const log = this.jobs.get(h.jobId);
      if (!log || log.events.length === 0) continue;
      log.head++;
      if (h.dedupId !== undefined) log.dedup.delete(h.dedupId);
      if (log.head > 1024 && log.head * 2 > log.events.length) {
        log.events = log.events.slice(log.head);
        log.head = 0;
      }
      this.dropIfEmpty(h.jobId, log);
    }
    if (this.heldHead > 4096 && this.heldHead * 2 > this.held.length) {
      this.held.splice(0, this.heldHead);
      this.heldHead = 0;
    }
  }

  private dropIfEmpty(jobId: string, log: JobLog): void {
    if (log.head >= log.events.length && log.listeners.size === 0) {
      this.jobs.delete(jobId);
    }
  }
}
