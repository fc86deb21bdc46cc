/**
 * The production event log: one JetStream stream ({@link EVENTS_STREAM}), one subject per job
 * (`jobstream.events.<jobId>`), `pos` = the stream sequence everywhere (appends, reads, live delivery).
 *
 * Design:
 * - **Stream.** File storage, `max_age` = retention, `max_bytes` / `max_msg_size` with **discard-new** (an event
 *   leaves only by age or its job's deletion, never because others wrote a lot; see jetstream-capacity.ts for how a
 *   full stream refuses non-terminal appends while terminal ones still fit), a
 *   `duplicate_window` (≤ retention) for `dedupId`s (sent as `Nats-Msg-Id`), `allow_direct` for cheap gets, and a
 *   **republish** of every stored message from `jobstream.events.>` to `jobstream.live.>`. Created or updated at
 *   {@link JetStreamEventLog.create} (idempotent; concurrent processes converge).
 * - **Append = optimistic concurrency.** Each append publishes with `expect.lastSubjectSequence` = the stream
 *   sequence of the job's last event, and the event's `seq` = that event's seq + 1. The driver caches per job the
 *   last `{seq, pos, terminal}` (LRU). When another appender got there first JetStream answers "wrong last
 *   sequence" (err_code 10071): the driver re-reads the subject's last message (direct get `last_by_subj`) and
 *   tries again (bounded). Appends of one process to one job are serialized (a per-job chain), so contention only
 *   comes from other processes. A terminal last event closes the log ({@link JobLogClosedError}). A duplicate ack
 *   (same `dedupId` in the window) returns the event stored the first time (direct get by sequence). JetStream
 *   checks duplicates before expectations, so a retried append of a closed log is probed with an expectation that
 *   can never hold: a duplicate answers with the stored event, anything else is refused.
 * - **Live = republish, not the event subject.** A core subscriber of `jobstream.events.<job>` would also see
 *   appends that JetStream refused (expectation races); republished messages exist only once stored and carry
 *   `Nats-Sequence` (= `pos`). `subscribe` resolves after `flush`, when the server has the interest.
 * - **Read = short-lived ordered consumer** (a lean one: lean-ordered-reader.ts) filtered on the job's subject, from
 *   stream sequence `after.pos + 1`, stopped after `limit` messages or when `pending` reaches 0. The last message is looked up first, so an empty
 *   result never waits on the consumer; an idle timeout guards against events expiring in between.
 *
 * nats-server 2.9 constraints met (checked against 2.9.10):
 * - `expect.lastSubjectSequence: 0` IS enforced ("no message on this subject yet"), so the first append of a job
 *   is race-safe like every other (the concurrent-append conformance test proves it with two instances).
 * - Direct get supports `last_by_subj`, `next_by_subj` (used by `first`) and `seq`; there is no batch direct get,
 *   and multi-filter consumers / `js.consumers.get(stream, { filterSubjects })` are not usable, hence an
 *   ordered push consumer for reads.
 * - Republish works and carries `Nats-Stream`, `Nats-Subject`, `Nats-Sequence`, `Nats-Last-Sequence` headers.
 * - `duplicate_window` must not exceed `max_age`: it is clamped to the retention.
 */
import type { Msg, NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager, type JetStreamManager, type StreamConfig } from '@nats-io/jetstream';
import { connectNats, isJsNotFound, jsApiError, natsErrorLabel } from '@jobstream/nats';
import {
  EVENTS_STREAM,
  EVENTS_SUBJECT_PREFIX,
  EVENTS_SUBJECT_WILDCARD,
  eventsSubject,
  isTerminalEvent,
  type EventPosition,
} from '@jobstream/contracts';
import {
  EventLogFullError,
  EventLogUnavailableError,
  JobLogClosedError,
  LOG_ROLLBACK_REASON,
  LogRollbackError,
  StaleAttemptError,
  eventSize,
  type AppendInput,
  type EventListener,
  type EventLog,
  type EventLogCapacity,
  type EventLogReaders,
  type EventLogUsage,
  type EventReader,
  type LiveSubscription,
  type LoggedEvent,
} from './event-log.port.js';
import { JetStreamCapacity, MESSAGE_OVERHEAD_BYTES } from './jetstream-capacity.js';
import { JetStreamDirectGet, type DirectQuery } from './jetstream-direct-get.js';
import { LeanOrderedReader } from './lean-ordered-reader.js';
import { JetStreamPublisher, type LeanPublishOptions, type PublishAck } from './jetstream-publisher.js';
import { stampEvent } from './stamp.js';
import { StoredEvent } from './stored-event.js';

/** Where stored events are republished for live delivery: `jobstream.live.<jobId>`. */
export const LIVE_SUBJECT_PREFIX = 'jobstream.live';
export const liveSubject = (jobId: string): string => `${LIVE_SUBJECT_PREFIX}.${jobId}`;

export interface EventLogLogger {
  warn(message: string): void;
  /** Informational lines (a stream reconciled to the configuration); falls back to `warn`. */
  info?(message: string): void;
}

export interface JetStreamEventLogOptions {
  /** NATS servers to connect to (the driver owns that connection and closes it). */
  servers?: string | string[];
  /** Or an existing connection (left open by `close`). */
  nc?: NatsConnection;
  /** How long events stay (ms): the stream's `max_age`. */
  retentionMs: number;
  /** Stream size in bytes (JETSTREAM_MAX_BYTES; discard new: a full stream refuses appends); default 1 GiB. */
  maxBytes?: number;
  /** Bytes below `maxBytes` kept for terminal events (see jetstream-capacity.ts); default 5 % of it. */
  reserveBytes?: number;
  /** How often the stream's size is read (ms); default 1000. */
  capacityPollMs?: number;
  /** Largest event in bytes; default 1 MiB. */
  maxMsgSize?: number;
  /** Window in which a `dedupId` is remembered (ms); default 2 min, at most the retention. */
  duplicateWindowMs?: number;
  /** Timeout of each JetStream request (ms); default 5000. */
  timeoutMs?: number;
  /** Jobs whose last event is cached; default 10 000. */
  cacheSize?: number;
  /** Stream name (default {@link EVENTS_STREAM}); the subjects stay the contract's. */
  stream?: string;
  /** Replicas of the stream (1–5; JETSTREAM_REPLICAS); an existing stream is scaled to it at start. Default 1. */
  replicas?: number;
  /**
   * Read single events (last, first, short reads) from the stream leader (`STREAM.MSG.GET`) instead of any replica
   * (direct get): a replica that is catching up after a restart would answer with an old view of the job. Default:
   * on when `replicas` > 1.
   */
  leaderReads?: boolean;
  logger?: EventLogLogger;
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
const READ_IDLE_MS = 5_000;
/** Reads of at most this many events use direct gets instead of a consumer. */
const DIRECT_READ_MAX = 64;

const decoder = new TextDecoder();
const encoder = new TextEncoder();

function apiErrCode(err: unknown): number | undefined {
  return jsApiError(err)?.err_code;
}

function isNotFound(err: unknown): boolean {
  return isJsNotFound(err);
}

/** The stream is at `max_bytes` (discard new): JetStream's "maximum bytes exceeded" (a store error, 10077). */
function isStreamFull(err: unknown): boolean {
  const api = jsApiError(err);
  return api?.err_code === 10077 && /maximum (bytes|messages)/i.test(api.description ?? '');
}

/** JetStream API answers that are about the request itself, not about the service being unavailable now. */
const PERMANENT_API_ERRORS = new Set([
  10054, // message size exceeds the stream's max_msg_size
]);

/**
 * Connection trouble, and JetStream API answers other than the request's own fault (no leader during an
 * election, a cluster catching up, "JetStream not available"…) → {@link EventLogUnavailableError}.
 */
function unavailable(err: unknown, what: string): unknown {
  if (err instanceof EventLogUnavailableError) return err;
  const api = apiErrCode(err);
  if (api !== undefined && PERMANENT_API_ERRORS.has(api)) return err;
  const code = natsErrorLabel(err);
  const msg = err instanceof Error ? err.message : String(err);
  return new EventLogUnavailableError(`event log unavailable (${what}): ${code ? `${code} ` : ''}${msg}`, {
    cause: err,
  });
}

/** The settings of `want` that `have` does not match, as `key: have → want` (for the log). */
export function streamDiff(have: Record<string, unknown>, want: Record<string, unknown>): string[] {
  const show = (v: unknown) => (v === undefined ? 'unset' : JSON.stringify(v));
  return Object.entries(want)
    .filter(([k, v]) => JSON.stringify(have[k]) !== JSON.stringify(v))
    .map(([k, v]) => `${k}: ${show(have[k])} → ${show(v)}`);
}

/** The state an append's hint claims (see `AppendInput.firstEvent` / `lastEvent`), if any. */
function hinted(input: AppendInput): LastState | undefined {
  if (input.firstEvent) return NONE;
  const h = input.lastEvent;
  if (!h || !(h.seq > 0 && h.pos > 0 && h.attempt > 0)) return undefined;
  return { seq: h.seq, pos: h.pos, attempt: h.attempt, terminal: null };
}

/**
 * The stored bytes are the event's JSON exactly as appended: kept, so frames need not serialize it again, and parsed
 * lazily (seq, type and job id are read from the envelope's fixed prefix: see {@link StoredEvent}).
 */
function parseStored(data: Uint8Array, pos: number): StoredEvent {
  return new StoredEvent(decoder.decode(data), pos);
}

export class JetStreamEventLog implements EventLog, EventLogReaders, EventLogCapacity {
  /** Appends' publishes (acks muxed on one inbox, one timeout sweeper): see jetstream-publisher.ts. */
  private readonly publisher: JetStreamPublisher;
  /**
   * Single-event reads (direct gets, or the leader's `STREAM.MSG.GET` with `leaderReads`; muxed on one inbox, one
   * timeout sweeper): see jetstream-direct-get.ts.
   */
  private readonly getter: JetStreamDirectGet;
  private readonly cache = new Map<string, LastState>();
  /** Per job, the highest seq this instance appended and got acknowledged (LRU, like `cache`). */
  private readonly acked = new Map<string, number>();
  private readonly chains = new Map<string, Promise<unknown>>();
  /** Publishes waiting for the end of the turn (see `publishInTurn`). */
  private outbox: OutboxEntry[] = [];
  private readonly subs = new Set<{ unsubscribe(): void }>();
  private readonly stream: string;
  private readonly cacheSize: number;
  private readonly leaderReads: boolean;
  private readonly capacity: JetStreamCapacity;
  private closed = false;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
    private readonly ownsConnection: boolean,
    private readonly opts: JetStreamEventLogOptions,
  ) {
    this.stream = opts.stream ?? EVENTS_STREAM;
    this.cacheSize = opts.cacheSize ?? 10_000;
    this.leaderReads = opts.leaderReads ?? (opts.replicas ?? 1) > 1;
    this.publisher = new JetStreamPublisher(nc, opts.timeoutMs ?? 5_000);
    this.getter = new JetStreamDirectGet(nc, this.stream, opts.timeoutMs ?? 5_000, this.leaderReads);
    this.capacity = new JetStreamCapacity(jsm, {
      stream: this.stream,
      maxBytes: opts.maxBytes ?? 1024 ** 3,
      ...(opts.reserveBytes !== undefined ? { reserveBytes: opts.reserveBytes } : {}),
      ...(opts.capacityPollMs !== undefined ? { pollMs: opts.capacityPollMs } : {}),
    });
  }

  /** Connects (unless given `nc`), creates or updates the stream, and returns the log. */
  static async create(opts: JetStreamEventLogOptions): Promise<JetStreamEventLog> {
    if (!opts.nc && !opts.servers) throw new TypeError('JetStreamEventLog needs `servers` or `nc`');
    if (!(opts.retentionMs > 0)) throw new RangeError('retentionMs must be > 0');
    const owns = !opts.nc;
    let nc: NatsConnection;
    try {
      nc =
        opts.nc ??
        (await connectNats({ servers: opts.servers!, name: 'jobstream-event-log', timeoutMs: opts.timeoutMs }));
    } catch (err) {
      throw unavailable(err, 'connect');
    }
    try {
      const jsm = await jetstreamManager(nc, { timeout: opts.timeoutMs ?? 5_000 });
      const log = new JetStreamEventLog(nc, jsm, owns, opts);
      try {
        await log.ensureStream();
        await log.capacity.refresh();
      } catch (err) {
        log.capacity.close();
        throw err;
      }
      return log;
    } catch (err) {
      if (owns) await nc.close().catch(() => {});
      throw unavailable(err, 'stream setup');
    }
  }

  /** The stream configuration this driver wants (exported for the ops docs and tests). */
  streamConfig(): Partial<StreamConfig> & { name: string; subjects: string[] } {
    const ms = (n: number) => Math.round(n * 1_000_000); // nanoseconds
    const retention = this.opts.retentionMs;
    return {
      name: this.stream,
      subjects: [EVENTS_SUBJECT_WILDCARD],
      storage: 'file' as StreamConfig['storage'],
      retention: 'limits' as StreamConfig['retention'],
      discard: 'new' as StreamConfig['discard'],
      max_age: ms(retention),
      max_bytes: this.opts.maxBytes ?? 1024 ** 3,
      max_msg_size: this.opts.maxMsgSize ?? 1024 ** 2,
      duplicate_window: ms(Math.min(this.opts.duplicateWindowMs ?? 120_000, retention)),
      allow_direct: true,
      republish: { src: `${EVENTS_SUBJECT_PREFIX}.>`, dest: `${LIVE_SUBJECT_PREFIX}.>` },
      num_replicas: this.opts.replicas ?? 1,
    };
  }

  private async ensureStream(): Promise<void> {
    const want = this.streamConfig();
    for (let attempt = 0; ; attempt++) {
      try {
        const info = await this.jsm.streams.info(this.stream);
        const changes = streamDiff(info.config as unknown as Record<string, unknown>, want);
        if (changes.length > 0) {
          await this.jsm.streams.update(this.stream, { ...info.config, ...want } as StreamConfig);
          // eslint-disable-next-line @typescript-eslint/unbound-method -- called with .call(logger) just below
          const say = this.opts.logger?.info ?? this.opts.logger?.warn;
          say?.call(this.opts.logger, `stream ${this.stream} reconciled with the configuration: ${changes.join(', ')}`);
        }
        return;
      } catch (err) {
        if (!isNotFound(err) || attempt > 2) throw err;
      }
      try {
        await this.jsm.streams.add(want);
        return;
      } catch (err) {
        // another process created it meanwhile: go round and update it if needed
        if (attempt > 2) throw err;
      }
    }
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
    const subject = eventsSubject(jobId);
    // A job's first event (hinted by the caller): publish expecting an empty subject instead of reading its last
    // event first — one broker round trip less on every job creation. Likewise after the newest event the caller
    // knows of (the worker's first append after the dispatcher's `status: queued`). A wrong hint fails the
    // expectation (10071) and the loop below reads the real state. Not when this instance appended to the job
    // before (rollback check).
    let known = this.cacheGet(jobId) ?? (this.acked.has(jobId) ? undefined : hinted(input));
    for (let attempt = 1; ; attempt++) {
      const state = known ?? (await this.fetchLastState(jobId));
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
          this.opts.logger?.warn(
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
      if (!terminal && !this.capacity.fits(size) && !(await this.capacity.admits(size))) throw this.full();
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
          if (!terminal) throw this.full();
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
        const stored = await this.getBySeq(ack.seq);
        this.noteAcked(jobId, stored.event.seq);
        return stored;
      }
      this.capacity.noteAppended(size);
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

  /** Room for a new job: the stream is below its size minus twice the reserve (see jetstream-capacity.ts). */
  hasRoom(): boolean {
    return this.capacity.hasRoom();
  }

  usage(): EventLogUsage {
    return this.capacity.usage();
  }

  private full(): EventLogFullError {
    const u = this.capacity.usage();
    return new EventLogFullError(
      `the event log is full: ${u.bytes} of ${u.maxBytes} bytes (JETSTREAM_MAX_BYTES), the rest kept for terminal events`,
    );
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

  async read(jobId: string, after: EventPosition, limit: number, maxBytes?: number): Promise<LoggedEvent[]> {
    this.assertOpen();
    const max = Math.max(1, Math.floor(limit));
    const last = await this.last(jobId);
    if (!last || last.seq <= after.seq) return [];
    if (last.pos <= after.pos && after.pos > 0) {
      // The job has events after the cursor's seq at or before its position: a failover rolled the stream back
      // and reused stream sequences. Find them by seq from the subject's start (rare; never skips them).
      return this.read(jobId, { seq: after.seq, pos: 0 }, limit, maxBytes);
    }
    const wanted = Math.min(max, last.seq - after.seq);
    // A short read (a client catching up on a live job) walks the subject with direct gets: no consumer is
    // created on the server. Long reads use one short-lived lean ordered consumer.
    if (wanted <= DIRECT_READ_MAX) return this.readDirect(jobId, after, wanted, last, maxBytes);
    const consumer = await this.openConsumer(jobId, after);
    try {
      return (await this.pullPage(consumer, after, max, last.pos, maxBytes)).events;
    } finally {
      consumer.close();
    }
  }

  /**
   * A reader for one long replay: pages that follow each other are read from ONE lean ordered consumer
   * (lean-ordered-reader.ts), opened at the first page that is too long for direct gets and kept (not read =
   * flow-controlled by the server) until the replay reaches the job's last event as it was when the consumer started,
   * the caller reads elsewhere, or `close` (which deletes it). A read that does not continue the previous one starts
   * over like {@link read}.
   */
  openReader(jobId: string): EventReader {
    let consumer: LeanOrderedReader | null = null;
    /** Seq of the last event taken from the consumer (the next one follows it). */
    let at = 0;
    /** Stream sequence of the job's last event when the consumer started: the end of this replay. */
    let endPos = 0;
    /** Counts `close`s: a consumer whose creation a `close` overtook is closed at once. */
    let closes = 0;
    const close = () => {
      closes++;
      consumer?.close();
      consumer = null;
    };
    const read = async (after: EventPosition, limit: number, maxBytes?: number): Promise<LoggedEvent[]> => {
      this.assertOpen();
      const max = Math.max(1, Math.floor(limit));
      if (!consumer || after.seq < at) {
        close();
        const epoch = closes;
        const last = await this.last(jobId);
        if (!last || last.seq <= after.seq) return [];
        if ((last.pos <= after.pos && after.pos > 0) || Math.min(max, last.seq - after.seq) <= DIRECT_READ_MAX) {
          return this.read(jobId, after, limit, maxBytes); // rare rollback case, or a short tail (direct gets)
        }
        const opened = await this.openConsumer(jobId, after);
        if (epoch !== closes) {
          opened.close(); // the caller left meanwhile
          return [];
        }
        consumer = opened;
        endPos = last.pos;
        at = after.seq;
      }
      const page = await this.pullPage(consumer, after, max, endPos, maxBytes).catch((err: unknown) => {
        close();
        throw err;
      });
      if (page.lastSeq > 0) at = page.lastSeq;
      if (page.ended) close();
      return page.events;
    };
    return { read, close };
  }

  private async openConsumer(jobId: string, after: EventPosition): Promise<LeanOrderedReader> {
    try {
      return await LeanOrderedReader.open(this.nc, this.jsm, {
        stream: this.stream,
        subject: eventsSubject(jobId),
        startSeq: after.pos > 0 ? after.pos + 1 : 1,
        idleMs: READ_IDLE_MS,
      });
    } catch (err) {
      throw unavailable(err, 'read');
    }
  }

  /**
   * Up to `max` events after `after.seq` from the consumer; `ended` once the job's last event (stream sequence
   * `endPos`, or `pending` 0) was taken, or nothing is left (events expired meanwhile).
   */
  private async pullPage(
    consumer: LeanOrderedReader,
    after: EventPosition,
    max: number,
    endPos: number,
    maxBytes = Infinity,
  ): Promise<{ events: LoggedEvent[]; ended: boolean; lastSeq: number }> {
    const events: LoggedEvent[] = [];
    let ended = false;
    let lastSeq = 0;
    let bytes = 0;
    try {
      const drained = await consumer.pull((data, sseq, pending) => {
        const e = parseStored(data, sseq);
        lastSeq = e.seq;
        // A position of 0 with a seq (an anchor without a position) is honored by seq.
        if (lastSeq > after.seq) {
          events.push(e);
          bytes += eventSize(e);
        }
        if (pending === 0 || sseq >= endPos) {
          ended = true;
          return false;
        }
        return events.length < max && bytes < maxBytes; // the rest stays queued in the consumer for the next page
      });
      return { events, ended: ended || drained, lastSeq };
    } catch (err) {
      throw unavailable(err, 'read');
    }
  }

  async last(jobId: string): Promise<StoredEvent | null> {
    this.assertOpen();
    return this.directGet({ last_by_subj: eventsSubject(jobId) }, 'last');
  }

  async first(jobId: string): Promise<StoredEvent | null> {
    this.assertOpen();
    return this.directGet({ next_by_subj: eventsSubject(jobId), seq: 1 }, 'first');
  }

  async subscribe(jobId: string, listener: EventListener): Promise<LiveSubscription> {
    this.assertOpen();
    let active = true;
    let sub;
    try {
      sub = this.nc.subscribe(liveSubject(jobId), {
        callback: (err, m) => {
          if (err || !active) return;
          const delivered = this.fromLive(m);
          if (!delivered) return;
          try {
            listener(delivered);
          } catch {
            /* a listener's failure is its own */
          }
        },
      });
    } catch (err) {
      throw unavailable(err, 'subscribe');
    }
    const handle = {
      unsubscribe: () => {
        if (!active) return;
        active = false;
        this.subs.delete(handle);
        sub.unsubscribe();
      },
    };
    this.subs.add(handle);
    try {
      await this.flush();
    } catch (err) {
      handle.unsubscribe();
      throw unavailable(err, 'subscribe');
    }
    return handle;
  }

  async delete(jobId: string): Promise<void> {
    this.assertOpen();
    try {
      await this.jsm.streams.purge(this.stream, { filter: eventsSubject(jobId) });
    } catch (err) {
      throw unavailable(err, 'delete');
    } finally {
      this.cache.delete(jobId);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const s of [...this.subs]) s.unsubscribe();
    this.cache.clear();
    if (this.ownsConnection && !this.nc.isClosed()) {
      await this.nc.drain().catch(() => this.nc.close());
    }
    this.publisher.close();
    this.getter.close();
    this.capacity.close();
  }

  private fromLive(m: Msg): LoggedEvent | null {
    const pos = Number(m.headers?.get('Nats-Sequence'));
    try {
      if (!Number.isSafeInteger(pos) || pos < 1) throw new Error('no Nats-Sequence header');
      return parseStored(m.data, pos);
    } catch (err) {
      this.opts.logger?.warn(`ignoring a malformed live event on ${m.subject}: ${(err as Error).message}`);
      return null;
    }
  }

  /** `flush` with a deadline, so a subscribe during an outage fails instead of hanging. */
  private async flush(): Promise<void> {
    const ms = this.opts.timeoutMs ?? 5_000;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.nc.flush(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`flush timed out after ${ms} ms`)), ms);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async directGet(query: DirectQuery, what: string): Promise<StoredEvent | null> {
    try {
      return await this.getter.get(query);
    } catch (err) {
      if (isNotFound(err)) return null;
      throw unavailable(err, what);
    }
  }

  /** Up to `wanted` events after `after`, one `next_by_subj` direct get each, ending with `last` at the latest. */
  private async readDirect(
    jobId: string,
    after: EventPosition,
    wanted: number,
    last: StoredEvent,
    maxBytes = Infinity,
  ): Promise<LoggedEvent[]> {
    const subject = eventsSubject(jobId);
    const out: LoggedEvent[] = [];
    let from = after.pos + 1;
    let bytes = 0;
    while (out.length < wanted && bytes < maxBytes && from <= last.pos) {
      const e = await this.directGet({ next_by_subj: subject, seq: from }, 'read');
      if (!e) break;
      if (e.seq > after.seq) {
        out.push(e);
        bytes += eventSize(e);
      }
      from = e.pos + 1;
    }
    return out;
  }

  private async getBySeq(seq: number): Promise<LoggedEvent> {
    const e = await this.directGet({ seq }, 'get');
    if (!e) throw new EventLogUnavailableError(`event at stream sequence ${seq} is gone`);
    return e;
  }

  private async fetchLastState(jobId: string): Promise<LastState> {
    const last = await this.last(jobId);
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

  private assertOpen(): void {
    if (this.closed) throw new EventLogUnavailableError('event log is closed');
  }
}
