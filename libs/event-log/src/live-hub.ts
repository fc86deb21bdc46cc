/**
 * In-process fan-out: ONE live subscription to the event log per active job per process, shared by every
 * client of the job, reference-counted (the last client to leave tears it down).
 *
 * Each event is repaired into dense seq order once per job (a {@link Sequencer} backfills broker gaps) and mapped
 * once per job by `prepare` (e.g. into a pre-built SSE frame) before it is handed to every listener.
 *
 * With a {@link HotCache}, the same in-order feed keeps the job's most recent events in memory: a client joining or
 * resuming the job replays them from there (through a {@link ReplaySource}). The feed then outlives its last client
 * by the cache's grace period (a client that reconnects finds the window warm), and the window is dropped whenever
 * the feed stops, so it is never read while it could miss events.
 *
 * A job just created can have its feed opened before its first event ({@link LiveHub.prewarm}): its window then
 * holds the job from seq 1, and the client that streams it right after the creation is served from memory, cursor
 * check included ({@link ReplaySource.holds}).
 */
import { START, type EventPosition } from '@jobstream/contracts';
import type { EventLog, LiveSubscription, LoggedEvent } from './event-log.port.js';
import { Sequencer } from './sequencer.js';

export interface HubSink<T> {
  next(e: LoggedEvent, prepared: T): void;
  /** The job's live feed failed (the log could not be read to repair a gap); the sink is already removed. */
  error(err: unknown): void;
}

interface Entry<T> {
  sinks: Set<HubSink<T>>;
  ready: Promise<void>;
  sub: LiveSubscription | null;
  sequencer: Sequencer;
  /** Live delivery is active (the subscription resolved). */
  active: boolean;
  /** Tears the feed down after the last sink left and the linger passed. */
  linger: NodeJS.Timeout | null;
  /** Opened for a job just created, before any sink (kept for the linger once active, like a feed left idle). */
  prewarmed: boolean;
}

/** What the hub keeps of each job's in-order feed: its window of recent events (the {@link HotCache}). */
export interface FeedWindow {
  /** How long to keep a feed (and so its window) after its last sink left; 0: not at all. */
  readonly lingerMs: number;
  /** The job's next event, in the feed's dense seq order. */
  observe(jobId: string, e: LoggedEvent): void;
  /** The job's feed stopped: its window can no longer be trusted. */
  drop(jobId: string): void;
}

export interface LiveHubOptions {
  /** Recent events per job, fed by the hub (read through a {@link ReplaySource}). */
  hot?: FeedWindow;
}

export class LiveHub<T> {
  private readonly entries = new Map<string, Entry<T>>();

  constructor(
    private readonly log: EventLog,
    private readonly prepare: (e: LoggedEvent) => T,
    private readonly opts: LiveHubOptions = {},
  ) {}

  /** Adds a sink to the job's feed; resolves (with the way out) once live delivery is active. */
  async subscribe(jobId: string, sink: HubSink<T>): Promise<() => void> {
    let entry = this.entries.get(jobId);
    if (!entry) entry = this.open(jobId);
    if (entry.linger) {
      clearTimeout(entry.linger);
      entry.linger = null;
    }
    entry.sinks.add(sink);
    const leave = () => this.leave(jobId, entry!, sink);
    try {
      await entry.ready;
    } catch (err) {
      leave();
      throw err;
    }
    return leave;
  }

  /**
   * Opens the live feed of a job that was just created and has no event yet (its window then holds the job from its
   * first event), before any client asks: the client that streams the job next finds the feed live and its events
   * in memory — no subscription round trip, no log read. Anything the subscription misses before it is active is
   * read from the log from the job's start (the feed's sequencer starts at seq 0). Nobody comes: the feed goes
   * after the cache's grace, as after a last client. Only with a hot cache (no-op otherwise); a failure to
   * subscribe is left to the clients (they subscribe themselves).
   */
  prewarm(jobId: string): void {
    if (!this.opts.hot || this.opts.hot.lingerMs <= 0 || this.entries.has(jobId)) return;
    this.open(jobId, START, true).ready.catch(() => {});
  }

  /** Drops a prewarmed feed that no client uses (its job was not created after all). */
  release(jobId: string): void {
    const entry = this.entries.get(jobId);
    if (entry?.prewarmed && entry.sinks.size === 0) this.teardown(jobId, entry);
  }

  /**
   * The job's in-order feed is active in this process: its window (if any) is exact, and what it does not hold yet
   * reaches a sink attached now live ({@link ReplaySource} reads through it).
   */
  isLive(jobId: string): boolean {
    return this.entries.get(jobId)?.active === true;
  }

  /** One job's feed: the sinks attached to it, or null when this process has no feed for the job. */
  feedOf(jobId: string): { sinks: number } | null {
    const entry = this.entries.get(jobId);
    return entry ? { sinks: entry.sinks.size } : null;
  }

  /** Jobs with a live subscription and the sinks attached to them. */
  stats(): { jobs: number; sinks: number } {
    let sinks = 0;
    for (const e of this.entries.values()) sinks += e.sinks.size;
    return { jobs: this.entries.size, sinks };
  }

  /** Ends every feed (shutdown). */
  closeAll(err: unknown): void {
    for (const [jobId, entry] of this.entries) this.fail(jobId, entry, err);
  }

  private open(jobId: string, start: EventPosition | null = null, prewarmed = false): Entry<T> {
    const entry: Entry<T> = {
      sinks: new Set(),
      sub: null,
      ready: Promise.resolve(),
      active: false,
      linger: null,
      prewarmed,
      sequencer: new Sequencer({
        start,
        fetch: (after, limit, maxBytes) => this.log.read(jobId, after, limit, maxBytes),
        emit: (e) => {
          this.opts.hot?.observe(jobId, e);
          const prepared = this.prepare(e);
          for (const s of entry.sinks) s.next(e, prepared);
        },
        onError: (err) => this.fail(jobId, entry, err),
        onLost: (last, first) =>
          this.fail(jobId, entry, new Error(`events after seq ${last.seq} expired before seq ${first.event.seq}`)),
      }),
    };
    entry.ready = this.log
      .subscribe(jobId, (e) => entry.sequencer.push(e))
      .then(
        (sub) => {
          entry.sub = sub;
          entry.active = true;
          if (this.entries.get(jobId) !== entry) this.teardown(jobId, entry);
          else if (entry.sinks.size === 0) {
            if (entry.prewarmed) this.idle(jobId, entry);
            else this.teardown(jobId, entry);
          }
        },
        (err: unknown) => {
          if (this.entries.get(jobId) === entry) this.entries.delete(jobId);
          throw err;
        },
      );
    this.entries.set(jobId, entry);
    return entry;
  }

  private leave(jobId: string, entry: Entry<T>, sink: HubSink<T>): void {
    if (!entry.sinks.delete(sink)) return;
    if (entry.sinks.size > 0) return;
    this.idle(jobId, entry);
  }

  /** The feed has no sink (left, or prewarmed): keep it (and its window) a while for clients that come, or end it. */
  private idle(jobId: string, entry: Entry<T>): void {
    const lingerMs = this.opts.hot?.lingerMs ?? 0;
    if (lingerMs > 0 && entry.active && this.entries.get(jobId) === entry) {
      if (entry.linger) clearTimeout(entry.linger);
      entry.linger = setTimeout(() => {
        entry.linger = null;
        if (entry.sinks.size === 0) this.teardown(jobId, entry);
      }, lingerMs);
      entry.linger.unref?.();
      return;
    }
    this.teardown(jobId, entry);
  }

  private teardown(jobId: string, entry: Entry<T>): void {
    entry.sequencer.stop();
    entry.active = false;
    if (entry.linger) {
      clearTimeout(entry.linger);
      entry.linger = null;
    }
    if (this.entries.get(jobId) === entry) {
      this.entries.delete(jobId);
      this.opts.hot?.drop(jobId);
    }
    if (entry.sub) {
      entry.sub.unsubscribe();
      entry.sub = null;
    }
  }

  private fail(jobId: string, entry: Entry<T>, err: unknown): void {
    const sinks = [...entry.sinks];
    entry.sinks.clear();
    this.teardown(jobId, entry);
    for (const s of sinks) s.error(err);
  }
}
