/**
 * The stream of one job for one client: its events after a cursor, as SSE frames, ending after the terminal event.
 *
 * Subscribe live first (through the process-wide {@link LiveHub}: one log subscription per job, shared), then
 * replay from the cursor, then pass live events through — by a {@link Sequencer}, which merges by seq, drops
 * duplicates and backfills any gap from the log, until the client is live (then the hub's order is enough and the
 * sequencer is dropped, see {@link StreamSession}). Replay pages wait for the client's socket to drain.
 * Unsubscribing (client gone) releases everything: the hub reference, the sequencer, pending reads.
 */
import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { decodeCursor, isTerminalStatus, type EventPosition } from '@jobstream/contracts';
import {
  Sequencer,
  isTerminalLogged,
  positionOf,
  seqOf,
  type EventLog,
  type EventReader,
  type HubSink,
  type LiveHub,
  type LoggedEvent,
  type SequencerOptions,
} from '@jobstream/event-log';
import type { JobRecord } from '@jobstream/job-store';
import { retryDelay, type RetrySchedule } from '@jobstream/nats';
import { ApiError } from '../common/api-error.js';
import { EVENT_LOG } from '../engine/engine.constants.js';
import { Metrics } from '../metrics/metrics.service.js';
import { frameOf } from '../sse/sse-frames.js';
import type { SseObserver, SseSink } from '../sse/sse-writer.js';
import { LIVE_HUB } from './jobs.constants.js';

export interface StreamStart {
  after: EventPosition;
  /** The newest event in the log when the cursor was checked. */
  last: LoggedEvent | null;
  /** Nothing will follow the cursor: the job ended at or before it. */
  ended: boolean;
}

/**
 * How a stream renders: frames sent before the events (e.g. a `snapshot` event) and the frames of each event (a
 * filter returns '' to skip one; the AI SDK format re-encodes). Default: every event as its shared SSE frame.
 */
export interface StreamRender {
  prelude?: string;
  frame?: (e: LoggedEvent) => string;
  /** Ends the response after this event although it is not terminal (a format whose unit ends earlier). */
  endsAfter?: (e: LoggedEvent) => boolean;
}

/** Events per replay read: larger pages mean fewer broker round trips; each page waits for the socket to drain. */
const REPLAY_PAGE = 2000;
/**
 * Bytes (event JSON) per replay read, whichever of the two bounds comes first: a replay holds one page at a time,
 * so a huge job (events up to MAX_EVENT_BYTES each) costs one page of memory per client, not 2,000 events.
 */
export const REPLAY_PAGE_BYTES = 1024 * 1024;

const READ_RETRY: RetrySchedule = { firstMs: 250, maxMs: 5_000, jitter: 0.25 };
/** Delay before the n-th consecutive retry of an unreadable log: 250 ms doubling to 5 s, with jitter. */
export function retryDelayMs(failures: number, random: () => number = Math.random): number {
  return retryDelay(failures, READ_RETRY, random);
}

@Injectable()
export class JobStreamService {
  private readonly logger = new Logger('JobStream');

  constructor(
    @Inject(EVENT_LOG) private readonly log: EventLog,
    @Inject(LIVE_HUB) private readonly hub: LiveHub<string>,
    @Optional() private readonly metrics?: Metrics,
  ) {}

  /**
   * Checks a cursor against the job's log before anything is sent: malformed, foreign or ahead of the log ⇒ 400
   * `invalid_cursor`; pointing before the oldest retained event ⇒ 410 `cursor_expired`. `fromMemory` (streams):
   * when the hub holds the job's events from the cursor on ({@link LiveHub.holds}), from them, without the two
   * lookups of the log.
   */
  async resolveCursor(
    job: JobRecord,
    raw: string | undefined | null,
    opts: { fromMemory?: boolean } = {},
  ): Promise<StreamStart> {
    const after = decodeCursor(job.id, raw);
    if (opts.fromMemory) {
      // A stream whose events after the cursor this process holds (a live job's window, e.g. opened at its
      // creation): the cursor is within the log's events, nothing needs reading. `last` is the newest event held —
      // possibly a moment behind the log, which only a caller that reads the log itself (not a stream) would mind.
      const held = this.hub.holds(job.id, after);
      if (held) return { after, last: held, ended: isTerminalLogged(held) && after.seq >= seqOf(held) };
    }
    const [first, last] = await Promise.all([this.log.first(job.id), this.log.last(job.id)]);
    // seq and type only: no parse of a lazily parsed event
    const lastSeq = last ? seqOf(last) : 0;
    if (last && after.seq > lastSeq) {
      throw new ApiError(400, 'invalid_cursor', `cursor is ahead of the job's events (last seq ${lastSeq})`);
    }
    if (!last && (after.seq > 0 || isTerminalStatus(job.status))) {
      throw new ApiError(410, 'cursor_expired', "the job's events are no longer retained");
    }
    if (first && after.seq + 1 < seqOf(first)) {
      throw new ApiError(410, 'cursor_expired', `events up to seq ${seqOf(first) - 1} are no longer retained`);
    }
    const ended = last !== null && isTerminalLogged(last) && after.seq >= lastSeq;
    return { after, last, ended };
  }

  /**
   * SSE frames of the job's events after `start.after` (subscribe with `{ next, error, complete }`, as an
   * Observable; no RxJS per client); completes after the terminal event.
   *
   * Rides out a log that cannot be read (a JetStream leader election, a node catching up): when the live feed or a
   * read fails, the stream keeps its connection (the shared ticker goes on sending keepalives), drops its live
   * subscription and tries again from the last event it sent, with a growing delay ({@link retryDelayMs}) — it
   * never ends with nothing sent, so clients do not loop through empty responses. Only lost events (retention)
   * end it with an error.
   */
  open(
    jobId: string,
    start: StreamStart,
    sink: SseSink,
    render: StreamRender = {},
    pageBytes = REPLAY_PAGE_BYTES,
  ): StreamSession {
    const { frame = frameOf, prelude, endsAfter } = render;
    return new StreamSession(this, jobId, start, sink, frame, prelude, endsAfter, pageBytes);
  }

  /** @internal the session's collaborators */
  get parts(): { log: EventLog; hub: LiveHub<string>; metrics?: Metrics; logger: Logger } {
    return { log: this.log, hub: this.hub, metrics: this.metrics, logger: this.logger };
  }
}

/**
 * One client's stream (see {@link JobStreamService.open}): subscribe it with an observer of frames, unsubscribe to
 * release everything. A plain object with its state in fields and its callbacks as methods (it is its sequencers'
 * options), so an idle live client holds no RxJS subscriber and no closures. Once the client is live and its
 * sequencer holds nothing back, the sequencer is dropped too: the hub already delivers the job's events in dense seq
 * order, so each one is the next (passed on), a duplicate (dropped) or beyond a gap / a rollback jump (a new
 * sequencer from the current position reads the log, exactly as the replay did).
 */
export class StreamSession implements SequencerOptions {
  private observer: SseObserver | null = null;
  private position: EventPosition;
  private stopped = false;
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;
  /** The hub subscription of the current attempt (null between attempts). */
  private current: HubAttempt | null = null;
  private leave: (() => void) | null = null;
  /** The sequencer of the current attempt; null while live with nothing held back. */
  private sequencer: Sequencer | null = null;
  /** Where the sequencer reads: the hub's hot cache when it holds the events, else one log reader (closed with it). */
  private reader: EventReader | null = null;
  /** The current attempt has caught up with the log. */
  private live = false;
  private caughtUp = false;
  private readonly opened = performance.now();
  readonly pageSize = REPLAY_PAGE;

  constructor(
    private readonly service: JobStreamService,
    private readonly jobId: string,
    private readonly startAt: StreamStart,
    private readonly sink: SseSink,
    private readonly frame: (e: LoggedEvent) => string,
    private readonly prelude: string | undefined,
    private readonly endsAfter: ((e: LoggedEvent) => boolean) | undefined,
    /** SequencerOptions.pageBytes, and the bound of the live events its sequencers hold back during a read. */
    readonly pageBytes: number,
  ) {
    this.position = startAt.after;
  }

  /** SequencerOptions.maxPendingBytes: live events held back while replaying, at most one page's worth. */
  get maxPendingBytes(): number {
    return this.pageBytes;
  }

  /** SequencerOptions.start: a new sequencer starts after the last event sent. */
  get start(): EventPosition {
    return this.position;
  }

  subscribe(observer: SseObserver): { unsubscribe(): void } {
    this.observer = observer;
    if (this.prelude) observer.next(this.prelude);
    if (this.startAt.ended) {
      this.stopped = true;
      observer.complete();
      return this;
    }
    this.attach();
    return this;
  }

  unsubscribe(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.detach();
    this.observer = null;
  }

  private attach(): void {
    if (this.stopped) return;
    const attempt = (this.current = new HubAttempt(this));
    const sequencer = this.newSequencer();
    this.live = false;
    this.service.parts.hub
      .subscribe(this.jobId, attempt)
      .then((unsubscribe) => {
        if (this.stopped || attempt !== this.current) {
          unsubscribe();
          return;
        }
        this.leave = unsubscribe;
        return sequencer.catchUp().then(() => {
          if (this.stopped || attempt !== this.current) return;
          this.live = true;
          if (!this.caughtUp) {
            this.caughtUp = true;
            this.service.parts.metrics?.replayCaughtUp((performance.now() - this.opened) / 1000);
          }
          if (this.sequencer?.idle()) this.dropSequencer();
        });
      })
      .catch((err: unknown) => this.fail(attempt, err));
  }

  private newSequencer(): Sequencer {
    this.reader?.close();
    this.reader = this.service.parts.hub.reader(this.jobId);
    return (this.sequencer = new Sequencer(this));
  }

  private dropSequencer(): void {
    this.sequencer?.stop();
    this.sequencer = null;
    this.reader?.close();
    this.reader = null;
  }

  private detach(): void {
    this.current = null;
    this.dropSequencer();
    this.live = false;
    this.leave?.();
    this.leave = null;
  }

  /** A live event of the job from the hub (dense seq order). */
  liveEvent(attempt: HubAttempt, e: LoggedEvent): void {
    if (attempt !== this.current) return;
    let sq = this.sequencer;
    if (sq !== null && this.live && sq.idle()) {
      this.dropSequencer();
      sq = null;
    }
    if (sq === null) {
      const seq = seqOf(e);
      if (seq <= this.position.seq) return; // already sent
      if (seq === this.position.seq + 1) {
        this.emit(e);
        return;
      }
      sq = this.newSequencer(); // beyond a gap or a rollback jump: read from here
    }
    sq.push(e);
  }

  /** The live feed or a read failed: drop the subscription and try again later from the last event sent. */
  fail(attempt: HubAttempt | null, err: unknown): void {
    if (this.stopped || attempt === null || attempt !== this.current) return;
    this.detach();
    this.failures++;
    const { metrics, logger } = this.service.parts;
    metrics?.streamReadRetry();
    if (this.failures === 1) {
      logger.warn({
        msg: 'event log unreadable; the stream waits and retries',
        job_id: this.jobId,
        error: err instanceof Error ? err.message : String(err),
      });
    }
    this.timer = setTimeout(() => this.attach(), retryDelayMs(this.failures));
  }

  // --- SequencerOptions (a stopped sequencer calls none of them)
  async fetch(after: EventPosition, limit: number, maxBytes?: number): Promise<LoggedEvent[]> {
    const reader = this.reader;
    await this.sink.whenWritable();
    // the sequencer was dropped or replaced meanwhile (it is stopped and ignores the page): leave the reader alone
    if (reader === null || reader !== this.reader) return [];
    return reader.read(after, limit, maxBytes);
  }

  emit(e: LoggedEvent): void {
    this.position = positionOf(e);
    this.failures = 0;
    const observer = this.observer;
    if (observer === null) return;
    const f = this.frame(e);
    if (f !== '') observer.next(f);
    if (isTerminalLogged(e) || this.endsAfter?.(e)) observer.complete();
  }

  onError(err: unknown): void {
    this.fail(this.current, err);
  }

  onLost(last: EventPosition, first: LoggedEvent): void {
    this.observer?.error(new Error(`events after seq ${last.seq} expired (oldest retained: ${first.event.seq})`));
  }
}

/** One attempt's sink in the hub (a retry subscribes a new one; a stale attempt's events are ignored). */
class HubAttempt implements HubSink<string> {
  constructor(private readonly session: StreamSession) {}
  next(e: LoggedEvent): void {
    this.session.liveEvent(this, e);
  }
  error(err: unknown): void {
    this.session.fail(this, err);
  }
}
