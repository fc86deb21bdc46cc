/**
 * The EventLog port: an append-only, per-job log of {@link JobEvent}s with replay, sequential readers, live
 * subscription and a budget. Every driver has every ability (no optional parts); the contract they keep (dense seq,
 * fenced attempts, idempotent retries, rollback holes, retention) is in docs/event-log.md and is checked against
 * every driver by `testing/event-log.conformance.ts`.
 */
import { encodeCursor, type AgentEvent, type EventPosition, type EventType, type JobEvent } from '@jobstream/contracts';

export interface LoggedEvent {
  readonly event: JobEvent;
  /** Driver-defined log position (JetStream stream sequence, memory counter). */
  readonly pos: number;
  /** The event as one-line JSON, when the driver has it at hand (saves serializing it again for the wire). */
  readonly json?: string;
  /**
   * `event.seq`, `event.type` and `event.job_id` without touching `event`, when the driver has them apart (a
   * {@link StoredEvent} parses `event` lazily): read them through {@link seqOf}, {@link typeOf}, {@link jobIdOf}.
   */
  readonly seq?: number;
  readonly type?: EventType;
  readonly jobId?: string;
  /** The event's JSON length, when the driver knows it without a `json` string at hand (the memory driver). */
  readonly size?: number;
}

/** The event's seq, without parsing a lazily parsed event. */
export const seqOf = (e: LoggedEvent): number => e.seq ?? e.event.seq;
/** The event's type, without parsing a lazily parsed event. */
export const typeOf = (e: LoggedEvent): EventType => e.type ?? e.event.type;
/** The event's job id, without parsing a lazily parsed event. */
export const jobIdOf = (e: LoggedEvent): string => e.jobId ?? e.event.job_id;
/** Default byte bound of a log page (and of the live events a sequencer holds back): 1 MiB of event JSON. */
export const DEFAULT_PAGE_BYTES = 1024 * 1024;

/** The event's size as counted by byte-bounded pages: its JSON length (characters), without serializing it again. */
export const eventSize = (e: LoggedEvent): number => e.json?.length ?? e.size ?? JSON.stringify(e.event).length;

/**
 * The byte bound of a page (`maxBytes` of {@link EventLog.read}): a page ends after the event that brings its total
 * {@link eventSize} to `maxBytes` or more, so it holds at least one event and at most `maxBytes` plus one event.
 * Returns how many of `events` (from `from`) such a page takes, at most `limit`.
 */
export function takeWithinBytes(
  events: readonly LoggedEvent[],
  from: number,
  limit: number,
  maxBytes: number | undefined,
): number {
  const n = Math.max(0, Math.min(limit, events.length - from));
  if (maxBytes === undefined) return n;
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    bytes += eventSize(events[from + i]!);
    if (bytes >= maxBytes) return i + 1;
  }
  return n;
}

/** True when a page read with `limit` / `maxBytes` is full (more may follow), false when it is short (the end for now). */
export function isFullPage(page: readonly LoggedEvent[], limit: number, maxBytes: number | undefined): boolean {
  if (page.length >= limit) return true;
  if (maxBytes === undefined || page.length === 0) return false;
  let bytes = 0;
  for (const e of page) bytes += eventSize(e);
  return bytes >= maxBytes;
}

/** `done`, `error` or `cancelled`, without parsing a lazily parsed event. */
export function isTerminalLogged(e: LoggedEvent): boolean {
  const t = typeOf(e);
  return t === 'done' || t === 'error' || t === 'cancelled';
}

export interface AppendInput {
  event: AgentEvent;
  /** 1-based attempt that produced the event. */
  attempt: number;
  /** Stable id of this append: a retry with the same id does not append twice. */
  dedupId?: string;
  /** Event time; defaults to now. */
  ts?: Date;
  /**
   * The caller believes this is the job's first event (a job record just created): a driver may skip looking up
   * the job's last event and append as if the log were empty. Only a hint: when the log is not empty the append is
   * numbered and checked exactly as without it (it only costs the lookup it tried to save).
   */
  firstEvent?: boolean;
  /**
   * The caller believes this is the job's newest event (e.g. the `status: queued` its dispatcher appended, carried
   * in the queue message): a driver may append after it without looking the job's last event up. Only a hint, as
   * `firstEvent`: a wrong one costs the lookup it tried to save, never a wrong seq.
   */
  lastEvent?: { seq: number; pos: number; attempt: number };
}

export type EventListener = (e: LoggedEvent) => void;

export interface LiveSubscription {
  /** Stops delivery; idempotent. */
  unsubscribe(): void;
}

/** What every driver of the log offers: see docs/event-log.md for the contract. */
export interface EventLog extends EventLogReaders, EventLogCapacity {
  append(jobId: string, input: AppendInput): Promise<LoggedEvent>;
  /**
   * Events strictly after `after`, in seq order, at most `limit` (≥ 1); with `maxBytes`, the page also ends after
   * the event that brings it to `maxBytes` ({@link takeWithinBytes}: at least one event).
   */
  read(jobId: string, after: EventPosition, limit: number, maxBytes?: number): Promise<LoggedEvent[]>;
  /** The job's newest event, or null when it has none. */
  last(jobId: string): Promise<LoggedEvent | null>;
  /** The job's oldest retained event, or null when it has none. */
  first(jobId: string): Promise<LoggedEvent | null>;
  /** Live delivery of events appended from now on; resolves when active. */
  subscribe(jobId: string, listener: EventListener): Promise<LiveSubscription>;
  /**
   * Removes every event of the job (JetStream: a purge of its subject). Afterwards `last`/`first` answer null and
   * `read` nothing. For finished jobs only: an append racing a delete may start a new log.
   */
  delete(jobId: string): Promise<void>;
  /** Releases connections and timers. */
  close(): Promise<void>;
}

/** The job's log already holds a terminal event. */
export class JobLogClosedError extends Error {
  override readonly name = 'JobLogClosedError';
  constructor(
    readonly jobId: string,
    readonly terminal: LoggedEvent,
  ) {
    super(`job ${jobId} has already ended with "${terminal.event.type}" (seq ${terminal.event.seq})`);
  }
}

/** The job's log already holds events of a newer attempt than the append's. */
export class StaleAttemptError extends Error {
  override readonly name = 'StaleAttemptError';
  constructor(
    readonly jobId: string,
    readonly attempt: number,
    readonly current: number,
  ) {
    super(`job ${jobId} is on attempt ${current}; an append of attempt ${attempt} is stale`);
  }
}

/**
 * The job's log lost events this instance had appended and got acknowledged (a failover rolled it back). The
 * attempt that produced them is void: append an `attempt` event of the next attempt with reason `log_rollback`.
 */
export class LogRollbackError extends Error {
  override readonly name = 'LogRollbackError';
  constructor(
    readonly jobId: string,
    /** Highest seq this instance had appended and got acknowledged. */
    readonly acknowledged: number,
    /** Seq of the log's last event now. */
    readonly found: number,
  ) {
    super(
      `job ${jobId}: the log's last event is seq ${found}, but seq ${acknowledged} had been acknowledged (rolled back by a failover)`,
    );
  }
}

/** The `attempt` reason that voids an attempt whose events a failover lost. */
export const LOG_ROLLBACK_REASON = 'log_rollback';

/** True when `e` may follow `lastSeq` with a jump in seq: the `attempt` event that voids events lost by a rollback. */
export function isRollbackJump(e: JobEvent, lastSeq: number): boolean {
  return e.seq > lastSeq + 1 && e.type === 'attempt' && e.reason === LOG_ROLLBACK_REASON;
}

/** The log's backing service cannot be reached (maps to 503). */
export class EventLogUnavailableError extends Error {
  override readonly name = 'EventLogUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * The log refused a non-terminal append because it is full: the embedded engine's memory budget is spent on jobs that
 * have not ended, or the JetStream stream reached its size minus the reserve kept for terminal events. Nothing was
 * evicted to make room. The runner ends the job with `error` `event_log_full`; terminal appends are never refused
 * this way.
 */
export class EventLogFullError extends Error {
  override readonly name = 'EventLogFullError';
}

/** What a bounded log holds against its budget (exported as metrics). */
export interface EventLogUsage {
  events: number;
  bytes: number;
  runningEvents: number;
  runningBytes: number;
  evictedJobs: number;
  maxEvents: number;
  maxBytes: number;
}

/** The log's budget (the memory driver's, the JetStream stream's size): every driver is bounded and says so. */
export interface EventLogCapacity {
  /** Room for a new job (the API answers 503 + Retry-After otherwise). */
  hasRoom(): boolean;
  usage(): EventLogUsage;
}

/**
 * A sequential reader of one job's log, for a long replay: successive `read`s that continue where the previous one
 * ended share one server-side cursor (JetStream: one ordered consumer for the whole replay instead of one per
 * page). Not reading is the back-pressure. `read` has the semantics of {@link EventLog.read}; a call whose `after`
 * is not where the previous one ended starts over from `after`.
 */
export interface EventReader {
  read(after: EventPosition, limit: number, maxBytes?: number): Promise<LoggedEvent[]>;
  /** Releases the server-side cursor; idempotent. The reader may be used again (it starts over). */
  close(): void;
}

/** Sequential readers of one job's log (a driver without server-side cursors hands out a {@link pagedReader}). */
export interface EventLogReaders {
  openReader(jobId: string): EventReader;
}

/** A reader that reads each page with {@link EventLog.read} (nothing to keep between pages, nothing to release). */
export function pagedReader(log: Pick<EventLog, 'read'>, jobId: string): EventReader {
  return { read: (after, limit, maxBytes) => log.read(jobId, after, limit, maxBytes), close: () => {} };
}

export const positionOf = (e: LoggedEvent): EventPosition => ({ seq: seqOf(e), pos: e.pos });

/** The event's cursor (SSE `id`, `after`), by the contract's one formatter, without parsing a lazily parsed event. */
export const cursorOf = (e: LoggedEvent): string => encodeCursor(jobIdOf(e), positionOf(e));
