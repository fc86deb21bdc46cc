/**
 * The streams of jobs, for every format (SSE, AI SDK, AG-UI): checks a cursor before anything is sent, and opens
 * one {@link StreamSession} per client, giving it the process-wide live hub and replay source. Where history comes
 * from (the hot window or the log) is the {@link ReplaySource}'s choice alone.
 */
import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { decodeCursor, isTerminalStatus } from '@jobstream/contracts';
import { ReplayCursorError, type LiveHub, type ReplaySource, type ReplayStart } from '@jobstream/event-log';
import type { JobRecord } from '@jobstream/job-store';
import { ApiError } from '../common/api-error.js';
import { Metrics } from '../metrics/metrics.service.js';
import type { SseSink } from '../sse/sse-writer.js';
import { LIVE_HUB, REPLAY_SOURCE } from './jobs.constants.js';
import { REPLAY_PAGE_BYTES, StreamSession, type StreamRender, type StreamSessionDeps } from './stream-session.js';

export { REPLAY_PAGE_BYTES, retryDelayMs, type StreamRender } from './stream-session.js';

/** Where a stream starts (see {@link ReplaySource.start}). */
export type StreamStart = ReplayStart;

@Injectable()
export class JobStreamService {
  private readonly deps: StreamSessionDeps;

  constructor(
    @Inject(REPLAY_SOURCE) private readonly replay: ReplaySource,
    @Inject(LIVE_HUB) hub: LiveHub<string>,
    @Optional() metrics?: Metrics,
  ) {
    this.deps = { hub, replay, metrics, logger: new Logger('JobStream') };
  }

  /**
   * Checks a cursor against the job's events before anything is sent: malformed, foreign or ahead of the log ⇒ 400
   * `invalid_cursor`; pointing before the oldest retained event ⇒ 410 `cursor_expired`. `fromMemory` (streams):
   * from the hot window when it holds the job's events from the cursor on ({@link ReplaySource.start}).
   */
  async resolveCursor(
    job: JobRecord,
    raw: string | undefined | null,
    opts: { fromMemory?: boolean } = {},
  ): Promise<StreamStart> {
    const after = decodeCursor(job.id, raw);
    try {
      return await this.replay.start(job.id, after, { ...opts, jobEnded: isTerminalStatus(job.status) });
    } catch (err) {
      if (!(err instanceof ReplayCursorError)) throw err;
      if (err.problem === 'ahead') throw new ApiError(400, 'invalid_cursor', err.message);
      throw new ApiError(410, 'cursor_expired', err.message);
    }
  }

  /**
   * SSE frames of the job's events after `start.after` (subscribe with `{ next, error, complete }`, as an
   * Observable; no RxJS per client); completes after the terminal event.
   *
   * Rides out a log that cannot be read (a JetStream leader election, a node catching up): when the live feed or a
   * read fails, the stream keeps its connection (the shared ticker goes on sending keepalives), drops its live
   * subscription and tries again from the last event it sent, with a growing delay (`retryDelayMs`) — it never
   * ends with nothing sent, so clients do not loop through empty responses. Only lost events (retention) end it
   * with an error.
   */
  open(
    jobId: string,
    start: StreamStart,
    sink: SseSink,
    render: StreamRender = {},
    pageBytes = REPLAY_PAGE_BYTES,
  ): StreamSession {
    return new StreamSession(this.deps, jobId, start, sink, render, pageBytes);
  }
}
