/** `createStream`: a job's events as an async iterable of typed {@link JobEvent}s, reconnecting by itself. */
import type { EventType, JobEvent } from '@jobstream/contracts/events';
import type { JobSnapshot } from '@jobstream/contracts/snapshot';
import { TERMINAL_EVENT_TYPES, isTerminalEvent, isTerminalStatus } from './terminal.js';
import { backoffDelay, resolveReconnect, sleep, type ReconnectOptions } from './backoff.js';
import { JobstreamConnectionError, JobstreamError, abortReason, isRetryable } from './errors.js';
import { openSseConnection, type SseConnection } from './sse-connection.js';
import { resolveTransport, type ClientSource, type Transport } from './transport.js';

export interface ReconnectInfo {
  /** 1 for the first retry after a failure, 2 for the next consecutive one, … */
  failures: number;
  /** How long the SDK waits before reconnecting. */
  delayMs: number;
  /** What went wrong. */
  error: unknown;
  /** The cursor the next connection resumes after (undefined = from the start). */
  lastEventId: string | undefined;
}

export interface StreamOptions {
  /** Abort to stop: the iteration rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Start after this cursor (a stored `lastEventId`); absent or `"0"` = from the first event. */
  resumeAfter?: string;
  /** `false` = one connection only; an object tunes the backoff. Default: reconnect with the defaults. */
  reconnect?: boolean | ReconnectOptions;
  /** High-water mark of parsed frames held in memory per connection. Default 64. */
  queueSize?: number;
  /**
   * Treat the connection as dead when no byte (event or `: keepalive` comment) arrives for this long while the SDK
   * is reading. Default 60 000 ms (4× the server's default 15 s heartbeat); 0 disables.
   */
  idleTimeoutMs?: number;
  /** Called before each reconnect wait. */
  onReconnect?: (info: ReconnectInfo) => void;
  /** Called when a connection is established (status 200, event stream). `connection` counts from 1. */
  onConnect?: (info: { connection: number; lastEventId: string | undefined }) => void;
  /** Yield a {@link JobSnapshot} of the state at the start position first (`?snapshot=true`). */
  snapshot?: boolean;
  /** Only these event types (`?types=`); terminal events always come. */
  types?: readonly EventType[];
  /** After a disconnect this long (ms) or longer, resume from a snapshot of the job now instead of replaying. */
  snapshotAfterDisconnectMs?: number;
}

/** What a stream yields: events, and snapshots when asked for (`snapshot`, `snapshotAfterDisconnectMs`). */
export type JobStreamItem = JobEvent | JobSnapshot;

/** Options that make a stream yield snapshots too. */
export type SnapshotStreamOptions = StreamOptions & ({ snapshot: true } | { snapshotAfterDisconnectMs: number });

export function isSnapshot(item: JobStreamItem): item is JobSnapshot {
  return item.type === 'snapshot';
}

export type CreateStreamOptions = StreamOptions & ClientSource;

export interface StreamStats {
  /** Connections established (HTTP 200). */
  connections: number;
  /** Reconnect waits started. */
  reconnects: number;
  /** Events dropped because their seq was already delivered. */
  duplicatesDropped: number;
  /** Seq gaps detected (each caused a reconnect). */
  gaps: number;
  /** The most frames buffered at once on any connection (bounded by `queueSize` + the frames of one chunk). */
  maxBuffered: number;
  /** Body bytes read over all connections. */
  bytesRead: number;
  /** Reconnects that skipped the missed events with a snapshot (`snapshotAfterDisconnectMs`). */
  snapshotJumps: number;
}

export interface JobStream<T extends JobStreamItem = JobEvent> extends AsyncIterable<T> {
  /** Cursor of the last delivered event — store it to resume later with `resumeAfter`. */
  readonly lastEventId: string | undefined;
  /** `seq` of the last delivered event (0 before the first when streaming from the start). */
  readonly lastSeq: number | undefined;
  /** The last `retry:` the server sent. */
  readonly serverRetryMs: number | undefined;
  readonly stats: Readonly<StreamStats & { buffered: number }>;
  /** Stops streaming; a pending or later `next()` resolves as done. Idempotent. */
  close(): void;
}

/**
 * The job's events from `resumeAfter` (or the start) until its terminal event.
 *
 * Guarantees to the consumer:
 * - events arrive in `seq` order, each at most once: a duplicate (`seq` ≤ the last one delivered) is dropped, a gap
 *   (`seq` > last + 1) closes the connection and resumes from the last delivered event's cursor — except onto an
 *   `attempt` event with reason `log_rollback` (the server voids events a broker failover lost; seqs are never reused);
 * - a terminal event (`done`, `error`, `cancelled`) is delivered and then the iteration ends — no reconnect;
 * - a response that ends without a terminal event, a network failure, an idle connection, a 429 or a 5xx is a drop:
 *   reconnect with full-jitter exponential backoff (honoring the server's `retry:` and `Retry-After`), resuming
 *   after the last delivered event; `maxRetries` consecutive failures without a new event end the iteration with the
 *   last error;
 * - 400, 401, 403, 404, 409, 410 (`cursor_expired`) and 413 are final: thrown at once;
 * - aborting `signal` rejects the pending `next()` with the signal's reason (as fetch does); `close()` or a `break`
 *   out of `for await` ends it quietly;
 * - memory is bounded: at most about `queueSize` parsed frames wait in memory; beyond that the body is not read
 *   (see `sse-connection.ts`).
 *
 * An `attempt` event is delivered like any other: it tells the consumer that output of earlier attempts is void
 * (`subscribeJobStream` and `streamJobUntilComplete` act on it for you).
 *
 * Resume v2:
 * - `snapshot: true` ⇒ the first item is a {@link JobSnapshot}: the job's state at `resumeAfter` (or the start);
 *   continue it with the events that follow (`reduceJobEvent`). Asked once: reconnects resume after the last item.
 * - `types` ⇒ only those event types (terminal events always come); seq gaps are then expected, so only duplicates
 *   are checked.
 * - `snapshotAfterDisconnectMs` ⇒ when the stream was down at least that long, the reconnect skips what was missed:
 *   it fetches the job's state now (`GET /v1/jobs/:id/snapshot`), yields it as a snapshot item and goes on after it.
 *   When the job already ended, the snapshot is followed by the terminal event alone (a `types` filter of terminal
 *   types after the old cursor), so the iteration still ends with the terminal event.
 */
export function createStream(jobId: string, options: SnapshotStreamOptions & ClientSource): JobStream<JobStreamItem>;
export function createStream(jobId: string, options: CreateStreamOptions): JobStream;
export function createStream(jobId: string, options: CreateStreamOptions): JobStream<JobStreamItem> {
  return new JobStreamImpl(jobId, resolveTransport(options), options);
}

/** Same as {@link createStream} with an already resolved transport (used by the client). */
export function createStreamWith(
  transport: Transport,
  jobId: string,
  options: SnapshotStreamOptions,
): JobStream<JobStreamItem>;
export function createStreamWith(transport: Transport, jobId: string, options?: StreamOptions): JobStream;
export function createStreamWith(
  transport: Transport,
  jobId: string,
  options: StreamOptions = {},
): JobStream<JobStreamItem> {
  return new JobStreamImpl(jobId, transport, options);
}

const TERMINAL_TYPES = TERMINAL_EVENT_TYPES.join(',');

class JobStreamImpl implements JobStream<JobStreamItem> {
  lastEventId: string | undefined;
  lastSeq: number | undefined;
  serverRetryMs: number | undefined;
  private readonly base: StreamStats = {
    connections: 0,
    reconnects: 0,
    duplicatesDropped: 0,
    gaps: 0,
    maxBuffered: 0,
    bytesRead: 0,
    snapshotJumps: 0,
  };
  /** `?snapshot=true` on the next connection (until a snapshot arrived). */
  private wantSnapshot: boolean;
  /** When the stream went down (the first failure since the last established connection). */
  private downSince: number | undefined;
  /** After a jump to a terminal snapshot: the next connection asks for the terminal event only. */
  private terminalOnly = false;
  private conn: SseConnection | undefined;
  private readonly internal = new AbortController();
  private readonly signal: AbortSignal;
  private closed = false;
  private iterated = false;

  constructor(
    private readonly jobId: string,
    private readonly transport: Transport,
    private readonly o: StreamOptions,
  ) {
    if (!jobId) throw new TypeError('jobstream: jobId is required');
    const resume = o.resumeAfter?.trim();
    if (resume && resume !== '0') {
      this.lastEventId = resume;
      this.lastSeq = undefined; // opaque cursor: accept whatever seq comes first
    } else {
      this.lastSeq = 0;
    }
    this.signal = o.signal ? anySignal(o.signal, this.internal.signal) : this.internal.signal;
    this.wantSnapshot = o.snapshot === true;
  }

  /** Live counters, including the open connection's buffer. */
  get stats(): StreamStats & { buffered: number } {
    const c = this.conn?.stats;
    return {
      ...this.base,
      buffered: c?.buffered ?? 0,
      maxBuffered: Math.max(this.base.maxBuffered, c?.maxBuffered ?? 0),
      bytesRead: this.base.bytesRead + (c?.bytesRead ?? 0),
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.internal.abort(new DOMException('stream closed', 'AbortError'));
  }

  [Symbol.asyncIterator](): AsyncIterator<JobStreamItem> {
    if (this.iterated) throw new TypeError('jobstream: a JobStream can be iterated once');
    this.iterated = true;
    return this.run();
  }

  private async *run(): AsyncGenerator<JobStreamItem, void, undefined> {
    const rc =
      this.o.reconnect === false
        ? { ...resolveReconnect(undefined), maxRetries: 0 }
        : resolveReconnect(this.o.reconnect === true ? undefined : this.o.reconnect);
    let failures = 0;
    try {
      for (;;) {
        let conn: SseConnection | undefined;
        let error: unknown;
        try {
          const jump = await this.jumpIfLongDown();
          if (jump) yield jump;
          const filtered = this.terminalOnly || (this.o.types !== undefined && this.o.types.length > 0);
          conn = await openSseConnection({
            transport: this.transport,
            url: this.transport.url(`/v1/jobs/${encodeURIComponent(this.jobId)}/stream`, {
              after: this.lastEventId,
              snapshot: this.wantSnapshot ? 'true' : undefined,
              types: this.terminalOnly ? TERMINAL_TYPES : this.o.types?.length ? this.o.types.join(',') : undefined,
            }),
            signal: this.signal,
            queueSize: this.o.queueSize ?? 64,
            idleTimeoutMs: this.o.idleTimeoutMs ?? 60_000,
            onRetry: (ms) => (this.serverRetryMs = ms),
          });
          this.conn = conn;
          this.downSince = undefined;
          this.base.connections++;
          this.o.onConnect?.({ connection: this.base.connections, lastEventId: this.lastEventId });
          for (;;) {
            const frame = await conn.next();
            if (frame === undefined) {
              throw new JobstreamConnectionError('dropped', 'the stream ended before a terminal event');
            }
            if (frame.event === 'snapshot') {
              const snap = this.parseSnapshot(frame.data);
              if (!this.wantSnapshot) continue; // not asked for (e.g. a proxy replayed the request): ignore
              this.wantSnapshot = false;
              this.lastSeq = snap.seq;
              if (frame.id && frame.id !== '0') this.lastEventId = frame.id;
              yield snap;
              continue;
            }
            const event = this.parse(frame.data);
            if (this.lastSeq !== undefined && event.seq <= this.lastSeq) {
              this.base.duplicatesDropped++;
              continue;
            }
            // the one allowed jump: the attempt event that voids events a broker failover lost (log_rollback)
            const rollback = event.type === 'attempt' && (event as { reason?: unknown }).reason === 'log_rollback';
            if (!filtered && !rollback && this.lastSeq !== undefined && event.seq > this.lastSeq + 1) {
              this.base.gaps++;
              throw new JobstreamConnectionError('gap', `event seq jumped from ${this.lastSeq} to ${event.seq}`);
            }
            this.lastSeq = event.seq;
            if (frame.id) this.lastEventId = frame.id;
            failures = 0; // progress: the next failure starts the backoff afresh
            yield event;
            if (isTerminalEvent(event)) return;
          }
        } catch (err) {
          if (this.signal.aborted) throw err;
          error = err;
          this.downSince ??= Date.now();
        } finally {
          if (conn) {
            this.base.bytesRead += conn.stats.bytesRead;
            this.base.maxBuffered = Math.max(this.base.maxBuffered, conn.stats.maxBuffered);
            this.conn = undefined;
            conn.close();
          }
        }
        if (!isRetryable(error)) throw error;
        failures++;
        if (failures > rc.maxRetries) throw error;
        const retryAfterMs = error instanceof JobstreamError ? error.retryAfterMs : undefined;
        const delayMs = backoffDelay(failures, rc, this.serverRetryMs, retryAfterMs);
        this.base.reconnects++;
        this.o.onReconnect?.({ failures, delayMs, error, lastEventId: this.lastEventId });
        await sleep(delayMs, this.signal);
      }
    } catch (err) {
      if (this.closed) return; // close(): end quietly
      if (this.signal.aborted) throw abortReason(this.signal);
      throw err;
    }
  }

  /**
   * After a long disconnect (`snapshotAfterDisconnectMs`): the job's state now, to skip the missed events. Null when
   * not due, or when the snapshot is not ahead of what was delivered.
   */
  private async jumpIfLongDown(): Promise<JobSnapshot | null> {
    const limit = this.o.snapshotAfterDisconnectMs;
    if (limit === undefined || this.downSince === undefined || Date.now() - this.downSince < limit) return null;
    const r = await this.transport.json<JobSnapshot & { id: string }>(
      'GET',
      `/v1/jobs/${encodeURIComponent(this.jobId)}/snapshot`,
      { signal: this.signal },
    );
    const { id, ...snap } = r.body;
    this.downSince = undefined;
    if (this.lastSeq !== undefined && snap.seq <= this.lastSeq) return null;
    this.base.snapshotJumps++;
    this.wantSnapshot = false;
    if (isTerminalStatus(snap.status)) {
      // the job ended: its terminal event (seq = the snapshot's) is the only event still to deliver
      this.terminalOnly = true;
      this.lastSeq = snap.seq - 1;
    } else {
      this.lastSeq = snap.seq;
      if (snap.seq > 0) this.lastEventId = id;
    }
    return snap as JobSnapshot;
  }

  private parseSnapshot(data: string): JobSnapshot {
    let v: unknown;
    try {
      v = JSON.parse(data);
    } catch (err) {
      throw new JobstreamConnectionError('protocol', 'a snapshot event carried data that is not JSON', { cause: err });
    }
    const s = v as Partial<JobSnapshot> | null;
    if (!s || typeof s !== 'object' || s.type !== 'snapshot' || !Number.isSafeInteger(s.seq) || (s.seq as number) < 0) {
      throw new JobstreamConnectionError(
        'protocol',
        'a snapshot event is not a job snapshot (needs type "snapshot" and a seq)',
      );
    }
    if (s.job_id !== undefined && s.job_id !== this.jobId) {
      throw new JobstreamConnectionError(
        'protocol',
        `a snapshot belongs to job ${String(s.job_id)}, not ${this.jobId}`,
      );
    }
    return v as JobSnapshot;
  }

  private parse(data: string): JobEvent {
    let v: unknown;
    try {
      v = JSON.parse(data);
    } catch (err) {
      throw new JobstreamConnectionError('protocol', 'an SSE event carried data that is not JSON', { cause: err });
    }
    const e = v as Partial<JobEvent> | null;
    if (
      !e ||
      typeof e !== 'object' ||
      typeof e.type !== 'string' ||
      !Number.isSafeInteger(e.seq) ||
      (e.seq as number) < 1
    ) {
      throw new JobstreamConnectionError(
        'protocol',
        'an SSE event is not a job event (needs type and a positive integer seq)',
      );
    }
    if (e.job_id !== undefined && e.job_id !== this.jobId) {
      throw new JobstreamConnectionError(
        'protocol',
        `an SSE event belongs to job ${String(e.job_id)}, not ${this.jobId}`,
      );
    }
    return v as JobEvent;
  }
}

/** `AbortSignal.any` where available (Node ≥ 20.3, current browsers), else a small polyfill. */
function anySignal(a: AbortSignal, b: AbortSignal): AbortSignal {
  const any = (AbortSignal as { any?: (s: AbortSignal[]) => AbortSignal }).any;
  if (any) return any.call(AbortSignal, [a, b]);
  const c = new AbortController();
  for (const s of [a, b]) {
    if (s.aborted) {
      c.abort(s.reason);
      break;
    }
    s.addEventListener('abort', () => c.abort(s.reason), { once: true });
  }
  return c.signal;
}
