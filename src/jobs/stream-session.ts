/**
 * One client's stream of one job: subscribe live first (to the process-wide {@link LiveHub}: one log subscription
 * per job, shared), then replay from the cursor through the {@link ReplaySource} (the hot window or the log), then
 * pass live events through — by a {@link Sequencer}, which merges by seq, drops duplicates and backfills any gap,
 * until the client is live. Replay pages wait for the client's socket to drain.
 */
import type { Logger } from '@nestjs/common';
import type { EventPosition } from '@jobstream/contracts';
import {
  Sequencer,
  isTerminalLogged,
  positionOf,
  seqOf,
  type EventReader,
  type HubSink,
  type LiveHub,
  type LoggedEvent,
  type ReplaySource,
  type ReplayStart,
  type SequencerOptions,
} from '@jobstream/event-log';
import { retryDelay, type RetrySchedule } from '@jobstream/nats';
import type { Metrics } from '../metrics/metrics.service.js';
import { frameOf } from '../sse/sse-frames.js';
import type { SseObserver, SseSink } from '../sse/sse-writer.js';

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

/** What a session works with, given by its service (shared by every session of the process). */
export interface StreamSessionDeps {
  /** The jobs' shared live feeds. */
  hub: Pick<LiveHub<string>, 'subscribe'>;
  /** Where replay pages come from. */
  replay: Pick<ReplaySource, 'reader'>;
  metrics?: Metrics;
  logger: Logger;
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

/**
 * One client's stream (see JobStreamService.open): subscribe it with an observer of frames, unsubscribe to
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
  /** Where the sequencer reads (the replay source: the hot window or one log reader; closed with it). */
  private reader: EventReader | null = null;
  /** The current attempt has caught up with the log. */
  private live = false;
  private caughtUp = false;
  private readonly opened = performance.now();
  readonly pageSize = REPLAY_PAGE;

  private readonly frame: (e: LoggedEvent) => string;
  private readonly prelude: string | undefined;
  private readonly endsAfter: ((e: LoggedEvent) => boolean) | undefined;

  constructor(
    private readonly deps: StreamSessionDeps,
    private readonly jobId: string,
    private readonly startAt: ReplayStart,
    private readonly sink: SseSink,
    render: StreamRender = {},
    /** SequencerOptions.pageBytes, and the bound of the live events its sequencers hold back during a read. */
    readonly pageBytes = REPLAY_PAGE_BYTES,
  ) {
    this.position = startAt.after;
    this.frame = render.frame ?? frameOf;
    this.prelude = render.prelude;
    this.endsAfter = render.endsAfter;
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
    this.deps.hub
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
            this.deps.metrics?.replayCaughtUp((performance.now() - this.opened) / 1000);
          }
          if (this.sequencer?.idle()) this.dropSequencer();
        });
      })
      .catch((err: unknown) => this.fail(attempt, err));
  }

  private newSequencer(): Sequencer {
    this.reader?.close();
    this.reader = this.deps.replay.reader(this.jobId);
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
    const { metrics, logger } = this.deps;
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
