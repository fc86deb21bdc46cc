/**
 * The stream of one job for one client: its events after a cursor, as SSE frames, ending after the terminal event.
 *
 * Subscribe live first (through the process-wide {@link LiveHub}: one log subscription per job, shared), then
 * replay from the cursor, then pass live events through — all by one {@link Sequencer}, which merges by seq, drops
 * duplicates and backfills any gap from the log. Replay pages wait for the client's socket to drain.
 * Unsubscribing (client gone) releases everything: the hub reference, the sequencer, pending reads.
 */
import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { Observable } from 'rxjs';
import { decodeCursor, isTerminalEvent, isTerminalStatus, type EventPosition } from '@jobstream/contracts';
import { Sequencer, positionOf, type EventLog, type LiveHub, type LoggedEvent } from '@jobstream/event-log';
import type { JobRecord } from '@jobstream/job-store';
import { ApiError } from '../common/api-error.js';
import { EVENT_LOG } from '../engine/engine.constants.js';
import { Metrics } from '../metrics/metrics.service.js';
import { frameOf } from '../sse/sse-frames.js';
import type { SseSink } from '../sse/sse-writer.js';
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
}

/** Events per replay read: larger pages mean fewer broker round trips; each page waits for the socket to drain. */
const REPLAY_PAGE = 2000;

/** Delay before the n-th consecutive retry of an unreadable log: 250 ms doubling to 5 s, with jitter. */
export function retryDelayMs(failures: number, random: () => number = Math.random): number {
  const base = Math.min(5_000, 250 * 2 ** Math.min(Math.max(0, failures - 1), 5));
  return Math.round(base * (0.75 + random() * 0.5));
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
   * `invalid_cursor`; pointing before the oldest retained event ⇒ 410 `cursor_expired`.
   */
  async resolveCursor(job: JobRecord, raw: string | undefined | null): Promise<StreamStart> {
    const after = decodeCursor(job.id, raw);
    const [first, last] = await Promise.all([this.log.first(job.id), this.log.last(job.id)]);
    if (last && after.seq > last.event.seq) {
      throw new ApiError(400, 'invalid_cursor', `cursor is ahead of the job's events (last seq ${last.event.seq})`);
    }
    if (!last && (after.seq > 0 || isTerminalStatus(job.status))) {
      throw new ApiError(410, 'cursor_expired', "the job's events are no longer retained");
    }
    if (first && after.seq + 1 < first.event.seq) {
      throw new ApiError(410, 'cursor_expired', `events up to seq ${first.event.seq - 1} are no longer retained`);
    }
    const ended = last !== null && isTerminalEvent(last.event) && after.seq >= last.event.seq;
    return { after, last, ended };
  }

  /**
   * SSE frames of the job's events after `start.after`; completes after the terminal event.
   *
   * Rides out a log that cannot be read (a JetStream leader election, a node catching up): when the live feed or a
   * read fails, the stream keeps its connection (the shared ticker goes on sending keepalives), drops its live
   * subscription and tries again from the last event it sent, with a growing delay ({@link retryDelayMs}) — it
   * never ends with nothing sent, so clients do not loop through empty responses. Only lost events (retention)
   * end it with an error.
   */
  open(jobId: string, start: StreamStart, sink: SseSink, render: StreamRender = {}): Observable<string> {
    const frame = render.frame ?? frameOf;
    return new Observable<string>((subscriber) => {
      if (render.prelude) subscriber.next(render.prelude);
      if (start.ended) {
        subscriber.complete();
        return;
      }
      let position: EventPosition = start.after;
      let stopped = false;
      let failures = 0;
      let timer: NodeJS.Timeout | undefined;
      let detach: (() => void) | null = null;
      const opened = performance.now();
      let caughtUp = false;

      const attach = () => {
        if (stopped) return;
        let leave: (() => void) | null = null;
        let failed = false;
        // replay pages: from the hub's hot cache when it holds them, else one log reader for the whole replay
        const reader = this.hub.reader(jobId);
        const sequencer = new Sequencer({
          start: position,
          pageSize: REPLAY_PAGE,
          fetch: async (after, limit) => {
            await sink.whenWritable();
            return reader.read(after, limit);
          },
          emit: (e) => {
            position = positionOf(e);
            failures = 0;
            const f = frame(e);
            if (f !== '') subscriber.next(f);
            if (isTerminalEvent(e.event)) subscriber.complete();
          },
          onError: (err) => fail(err),
          onLost: (last, first) =>
            subscriber.error(new Error(`events after seq ${last.seq} expired (oldest retained: ${first.event.seq})`)),
        });
        const fail = (err: unknown) => {
          if (failed || stopped) return;
          failed = true;
          sequencer.stop();
          reader.close();
          leave?.();
          leave = null;
          detach = null;
          failures++;
          this.metrics?.streamReadRetry();
          if (failures === 1) {
            this.logger.warn({ msg: 'event log unreadable; the stream waits and retries', job_id: jobId, error: err instanceof Error ? err.message : String(err) });
          }
          timer = setTimeout(attach, retryDelayMs(failures));
        };
        detach = () => {
          sequencer.stop();
          reader.close();
          leave?.();
          leave = null;
        };
        this.hub
          .subscribe(jobId, { next: (e) => sequencer.push(e), error: fail })
          .then((unsubscribe) => {
            if (stopped || failed) {
              unsubscribe();
              return;
            }
            leave = unsubscribe;
            return sequencer.catchUp().then(() => {
              if (!caughtUp && !failed) {
                caughtUp = true;
                this.metrics?.replayCaughtUp((performance.now() - opened) / 1000);
              }
            });
          })
          .catch(fail);
      };
      attach();
      return () => {
        stopped = true;
        clearTimeout(timer);
        detach?.();
        detach = null;
      };
    });
  }
}
