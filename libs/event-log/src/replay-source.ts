/**
 * Where every stream format reads a job's history: this process's hot window of the job when it holds the events,
 * else the log. The one place that makes that choice, for the cursor check before a stream starts
 * ({@link ReplaySource.start}) and for its replay pages ({@link ReplaySource.reader}). A window is trusted only while
 * the job's in-order live feed is active ({@link LiveFeeds}): then what it does not hold yet reaches the caller live.
 */
import type { EventPosition } from '@jobstream/contracts';
import {
  eventSize,
  isFullPage,
  isTerminalLogged,
  positionOf,
  seqOf,
  type EventLog,
  type EventReader,
  type LoggedEvent,
} from './event-log.port.js';
import type { HotCache } from './hot-cache.js';

/** Whether this process has the job's in-order live feed active (the {@link LiveHub} that fills the window). */
export interface LiveFeeds {
  isLive(jobId: string): boolean;
}

/** Where a stream starts: after the cursor, what the newest event was, and whether nothing follows. */
export interface ReplayStart {
  after: EventPosition;
  /** The newest event in the log (or the newest held in memory) when the cursor was checked. */
  last: LoggedEvent | null;
  /** Nothing will follow the cursor: the job ended at or before it. */
  ended: boolean;
}

/** A cursor the log cannot serve: `ahead` of its events, or pointing at events that `expired`. */
export class ReplayCursorError extends Error {
  override readonly name = 'ReplayCursorError';
  constructor(
    readonly problem: 'ahead' | 'expired',
    message: string,
  ) {
    super(message);
  }
}

export class ReplaySource {
  constructor(
    private readonly log: EventLog,
    private readonly feeds: LiveFeeds,
    /** The hot window of recent events per live job (fed by the hub); none: always the log. */
    private readonly hot?: HotCache,
  ) {}

  /**
   * Checks `after` against the job's events: ahead of the log or expired ⇒ {@link ReplayCursorError}. `fromMemory`
   * (streams): when the window holds the job's events from the cursor on ({@link ReplaySource.holds}), from them,
   * without the two lookups of the log — `last` is then the newest event held, possibly a moment behind the log,
   * which only a caller that reads the log itself (not a stream) would mind. `jobEnded`: the job's record says it
   * ended (an empty log then means its events expired).
   */
  async start(
    jobId: string,
    after: EventPosition,
    opts: { fromMemory?: boolean; jobEnded?: boolean } = {},
  ): Promise<ReplayStart> {
    if (opts.fromMemory) {
      const held = this.holds(jobId, after);
      if (held) return { after, last: held, ended: isTerminalLogged(held) && after.seq >= seqOf(held) };
    }
    const [first, last] = await Promise.all([this.log.first(jobId), this.log.last(jobId)]);
    // seq and type only: no parse of a lazily parsed event
    const lastSeq = last ? seqOf(last) : 0;
    if (last && after.seq > lastSeq) {
      throw new ReplayCursorError('ahead', `cursor is ahead of the job's events (last seq ${lastSeq})`);
    }
    if (!last && (after.seq > 0 || opts.jobEnded)) {
      throw new ReplayCursorError('expired', "the job's events are no longer retained");
    }
    if (first && after.seq + 1 < seqOf(first)) {
      throw new ReplayCursorError('expired', `events up to seq ${seqOf(first) - 1} are no longer retained`);
    }
    return { after, last, ended: last !== null && isTerminalLogged(last) && after.seq >= lastSeq };
  }

  /**
   * The job's newest event when this process holds, in memory, every event of the job after `after` up to it: the
   * feed is live and the job's window (contiguous, fed in order) starts at or before the cursor and reaches it.
   * Then the cursor is valid (not ahead of the log, not expired) and a stream from it needs no log read: what
   * follows the newest held event reaches a sink attached now live. Null otherwise (check against the log).
   */
  holds(jobId: string, after: EventPosition): LoggedEvent | null {
    if (!this.hot || !this.feeds.isLive(jobId)) return null;
    return this.hot.holds(jobId, after);
  }

  /**
   * The replay of one client of the job, whose sink is attached to the job's feed: each page comes from the window
   * when it holds it, otherwise from the log — through one sequential reader for the whole replay (one consumer,
   * not one per page), and only up to the window's start, the rest of the page from memory. Close it when the
   * client leaves.
   */
  reader(jobId: string): EventReader {
    let logReader: EventReader | null = null;
    const read = async (after: EventPosition, limit: number, maxBytes?: number): Promise<LoggedEvent[]> => {
      const hot = this.recent(jobId, after, limit, maxBytes);
      if (hot) {
        logReader?.close(); // the replay reached the window: the log is not read again
        return hot;
      }
      // Before the window: read the log only up to it (a short gap is read with direct gets), then fill the page
      // from memory — a short page would mean "the end" to the caller.
      const w = this.hot && this.feeds.isLive(jobId) ? this.hot.window(jobId) : null;
      const upTo = w && w.base > after.seq ? Math.min(limit, w.base - after.seq) : limit;
      logReader ??= this.log.openReader(jobId);
      const page = await logReader.read(after, upTo, maxBytes);
      const end = page.at(-1);
      // up to the window's start: the rest of the page from memory (or, if the window moved meanwhile, as above)
      if (upTo < limit && end && seqOf(end) === w!.base && !isFullPage(page, Infinity, maxBytes)) {
        const rest = maxBytes === undefined ? undefined : maxBytes - page.reduce((n, e) => n + eventSize(e), 0);
        return page.concat(await read(positionOf(end), limit - page.length, rest));
      }
      return page;
    };
    return { read, close: () => logReader?.close() };
  }

  /**
   * Up to `limit` of the job's events right after `after` from the window, or null when they are not in memory
   * (read the log). Exact only for a caller whose sink is attached to the job's feed: what the window does not hold
   * yet reaches it live, so `[]` means "nothing more for now".
   */
  recent(jobId: string, after: EventPosition, limit: number, maxBytes?: number): LoggedEvent[] | null {
    if (!this.hot || !this.feeds.isLive(jobId)) return null;
    return this.hot.read(jobId, after, limit, maxBytes);
  }
}
