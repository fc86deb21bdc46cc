/**
 * Appends to the events stream: optimistic concurrency on the job's last stream sequence, one chain per job in this
 * process, a per-job cache of the last event, dedup and rollback checks, and publishes batched per event-loop turn.
 */
import { isTerminalEvent } from '@jobstream/contracts';
import {
  EventLogFullError,
  EventLogUnavailableError,
  JobLogClosedError,
  LOG_ROLLBACK_REASON,
  LogRollbackError,
  StaleAttemptError,
  type AppendInput,
  type LoggedEvent,
} from './event-log.port.js';
import { MESSAGE_OVERHEAD_BYTES, type JetStreamCapacity } from './jetstream-capacity.js';
import { apiErrCode, isStreamFull, unavailable, type EventLogLogger } from './jetstream-event-stream.js';
import type { JetStreamPublisher, LeanPublishOptions, PublishAck } from './jetstream-publisher.js';
import { stampEvent } from './stamp.js';
import { StoredEvent } from './stored-event.js';

/** Where a job's events go: its partition's subject and capacity, and the event a duplicate ack points at. */
export interface AppendRoute {
  subject: string;
  capacity: JetStreamCapacity;
  getBySeq: (seq: number) => Promise<LoggedEvent>;
}

/** The job's route as known now, and its last event (which also finds a job's partition). */
export interface AppendLookups {
  route(jobId: string): AppendRoute;
  last(jobId: string): Promise<StoredEvent | null>;
}

interface LastState {
  seq: number;
  pos: number;
  /** Attempt of the newest event (attempts only grow in a job's log). */
  attempt: number;
  terminal: LoggedEvent | null;
}

interface OutboxEntry {
  subject: string;
  data: Uint8Array;
  opts: LeanPublishOptions;
  resolve: (ack: PublishAck) => void;
  reject: (err: unknown) => void;
}

const NONE: LastState = Object.freeze({ seq: 0, pos: 0, attempt: 0, terminal: null });
const WRONG_LAST_SEQUENCE = 10071;
const MAX_APPEND_ATTEMPTS = 200;
/** An expected last sequence no subject ever has: used to probe the dedup window of a closed log. */
const NEVER = Number.MAX_SAFE_INTEGER;

const encoder = new TextEncoder();

/** The state an append's hint claims (see `AppendInput.firstEvent` / `lastEvent`), if any. */
function hinted(input: AppendInput): LastState | undefined {
  if (input.firstEvent) return NONE;
  const h = input.lastEvent;
  if (!h || !(h.seq > 0 && h.pos > 0 && h.attempt > 0)) return undefined;
  return { seq: h.seq, pos: h.pos, attempt: h.attempt, terminal: null };
}

function full(capacity: JetStreamCapacity): EventLogFullError {
  const u = capacity.usage();
  return new EventLogFullError(
    `the event log is full: ${u.bytes} of ${u.maxBytes} bytes (JETSTREAM_MAX_BYTES), the rest kept for terminal events`,
  );
}

export class JetStreamAppender {
  private readonly cache = new Map<string, LastState>();
  /** Per job, the highest seq this instance appended and got acknowledged (LRU, like `cache`). */
  private readonly acked = new Map<string, number>();
  private readonly chains = new Map<string, Promise<unknown>>();
  /** Publishes waiting for the end of the turn (see `publishInTurn`). */
  private outbox: OutboxEntry[] = [];

  constructor(
    private readonly publisher: JetStreamPublisher,
    private readonly reads: AppendLookups,
    private readonly cacheSize: number,
    private readonly assertOpen: () => void,
    private readonly logger?: EventLogLogger,
  ) {}

  /** Forgets what is cached of a job (deleted: its next append reads the stream). */
  forget(jobId: string): void {
    this.cache.delete(jobId);
  }

  clear(): void {
    this.cache.clear();
  }

  async append(jobId: string, input: AppendInput): Promise<LoggedEvent> {
    this.assertOpen();
    // Serialize this process's appends to one job; other processes are handled by the expectation.
    // (no link when none is in flight, the usual case: one promise and one microtask less per event)
    const prev = this.chains.get(jobId);
    const run = prev
      ? prev.then(
          () => this.appendNow(jobId, input),
          () => this.appendNow(jobId, input),
        )
      : this.appendNow(jobId, input);
    this.chains.set(jobId, run);
    try {
      return await run;
    } finally {
      if (this.chains.get(jobId) === run) this.chains.delete(jobId);
    }
  }

  private async appendNow(jobId: string, input: AppendInput): Promise<LoggedEvent> {
    // A job's first event (hinted by the caller): publish expecting an empty subject instead of reading its last
    // event first — one broker round trip less on every job creation. Likewise after the newest event the caller
    // knows of (the worker's first append after the dispatcher's `status: queued`). A wrong hint fails the
    // expectation (10071) and the loop below reads the real state. Not when this instance appended to the job
    // before (rollback check).
    let known = this.cacheGet(jobId) ?? (this.acked.has(jobId) ? undefined : hinted(input));
    for (let attempt = 1; ; attempt++) {
      const state = known ?? (await this.fetchLastState(jobId));
      // after the state: reading it finds the partition of a job this process did not know (see partitions.ts)
      const { subject, capacity, getBySeq } = this.reads.route(jobId);
      if (state.terminal && input.dedupId === undefined) throw new JobLogClosedError(jobId, state.terminal);
      if (!state.terminal && input.attempt < state.attempt)
        throw new StaleAttemptError(jobId, input.attempt, state.attempt);
      // Acknowledged means kept: a log whose last event is older than one we appended lost it (a failover rolled it
      // back). Never number over the hole: only the voiding attempt event may follow it, numbered after it.
      let seq = state.seq + 1;
      const acked = this.acked.get(jobId) ?? 0;
      if (!state.terminal && state.seq < acked) {
        const e = input.event;
        if (e.type !== 'attempt' || e.reason !== LOG_ROLLBACK_REASON || input.attempt <= state.attempt) {
          this.logger?.warn(
            `job ${jobId}: the log's last event is seq ${state.seq} but seq ${acked} had been acknowledged (rolled back)`,
          );
          throw new LogRollbackError(jobId, acked, state.seq);
        }
        seq = acked + 1;
      }
      // Validates (InvalidEventError / RangeError) before anything is sent.
      const event = stampEvent(jobId, seq, input);
      const expected = state.terminal ? NEVER : state.pos;
      const json = JSON.stringify(event);
      const data = encoder.encode(json);
      const size = data.length + subject.length + MESSAGE_OVERHEAD_BYTES;
      const terminal = isTerminalEvent(event);
      // a terminal event always gets the reserve: every job can end, however full the log
      if (!terminal && !capacity.fits(size) && !(await capacity.admits(size))) throw full(capacity);
      let ack;
      try {
        ack = await this.publishInTurn(subject, data, {
          msgID: input.dedupId,
          lastSubjectSequence: expected,
        });
      } catch (err) {
        if (isStreamFull(err)) {
          this.cache.delete(jobId);
          // past the reserve (several writers between two reads): a terminal append waits for room (retried)
          if (!terminal) throw full(capacity);
          throw new EventLogUnavailableError(`event log full: ${(err as Error).message}`, { cause: err });
        }
        if (apiErrCode(err) === WRONG_LAST_SEQUENCE) {
          if (state.terminal) throw new JobLogClosedError(jobId, state.terminal);
          this.cache.delete(jobId);
          known = undefined;
          if (attempt >= MAX_APPEND_ATTEMPTS) {
            throw new EventLogUnavailableError(`append to job ${jobId} lost ${attempt} races in a row`, { cause: err });
          }
          // Someone else appended: re-read the last event. Back off a little under heavy contention.
          if (attempt > 3) await new Promise((r) => setTimeout(r, Math.random() * Math.min(50, attempt * 2)));
          continue;
        }
        this.cache.delete(jobId); // the outcome is unknown: re-read next time
        throw unavailable(err, 'append');
      }
      if (ack.duplicate) {
        const stored = await getBySeq(ack.seq);
        this.noteAcked(jobId, stored.event.seq);
        return stored;
      }
      capacity.noteAppended(size);
      const logged = new StoredEvent(json, ack.seq, event);
      this.cacheSet(jobId, {
        seq: event.seq,
        pos: ack.seq,
        attempt: event.attempt,
        terminal: isTerminalEvent(event) ? logged : null,
      });
      this.noteAcked(jobId, event.seq);
      return logged;
    }
  }

  /**
   * A JetStream publish (the lean one, `jetstream-publisher.ts`: same headers, ack and errors as `js.publish`),
   * started at the end of the current event-loop turn together with every other append of the turn. nats.js writes to the socket once per microtask checkpoint, and appends of different jobs (each resumed by its
   * own timer or ack) each reach it in a checkpoint of their own: one socket write per event. Started in one
   * synchronous loop, all the turn's publishes leave in one write (and their acks mostly come back in one read).
   * Each job still has at most one append in flight (the per-job chain: every append's expectation is the stream
   * sequence of the one before), so order, fencing and dedup are untouched; the cost is the rest of the turn.
   */
  private publishInTurn(subject: string, data: Uint8Array, opts: LeanPublishOptions): Promise<PublishAck> {
    return new Promise<PublishAck>((resolve, reject) => {
      this.outbox.push({ subject, data, opts, resolve, reject });
      if (this.outbox.length === 1) setImmediate(this.flushOutbox);
    });
  }

  private readonly flushOutbox = (): void => {
    const batch = this.outbox;
    this.outbox = [];
    for (const p of batch) {
      this.publisher.publish(p.subject, p.data, p.opts).then(p.resolve, p.reject);
    }
  };

  private async fetchLastState(jobId: string): Promise<LastState> {
    const last = await this.reads.last(jobId);
    const state = last
      ? {
          seq: last.event.seq,
          pos: last.pos,
          attempt: last.event.attempt,
          terminal: isTerminalEvent(last.event) ? last : null,
        }
      : NONE;
    this.cacheSet(jobId, state);
    return state;
  }

  private noteAcked(jobId: string, seq: number): void {
    const had = this.acked.get(jobId) ?? 0;
    this.acked.delete(jobId);
    this.acked.set(jobId, Math.max(had, seq));
    while (this.acked.size > this.cacheSize) this.acked.delete(this.acked.keys().next().value!);
  }

  private cacheGet(jobId: string): LastState | undefined {
    const s = this.cache.get(jobId);
    if (s) {
      this.cache.delete(jobId);
      this.cache.set(jobId, s);
    }
    return s;
  }

  private cacheSet(jobId: string, s: LastState): void {
    this.cache.delete(jobId);
    this.cache.set(jobId, s);
    while (this.cache.size > this.cacheSize) this.cache.delete(this.cache.keys().next().value!);
  }
}
