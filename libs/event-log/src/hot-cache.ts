/**
 * The most recent events of each live job, in memory, per process: a client resuming within the window replays from
 * here instead of reading the log, exactly consistent with it. Details: docs/internals.md.
 */
import type { EventPosition } from '@jobstream/contracts';
import { isTerminalLogged, seqOf, takeWithinBytes, typeOf, type LoggedEvent } from './event-log.port.js';

export interface HotCacheOptions {
  /** Events kept per job (the newest); 0 disables the cache. Default 1000. */
  maxEvents?: number;
  /** Estimated bytes kept per job (the newest events); default 1 MiB. */
  maxJobBytes?: number;
  /** Estimated bytes over all jobs; the least recently used job's window is dropped first. Default 64 MiB. */
  maxBytes?: number;
  /** How long a finished job's window stays (ms), for clients that resume right after the end. Default 10 s. */
  graceMs?: number;
  /**
   * The log's retention (ms): {@link HotCache.holds} vouches only for windows whose oldest event is younger, so a
   * cursor the log no longer serves is still checked against the log (410). Default: no limit.
   */
  maxAgeMs?: number;
}

export interface HotCacheStats {
  jobs: number;
  events: number;
  bytes: number;
  hits: number;
  misses: number;
  /** Windows dropped for the overall byte bound (least recently used first). */
  evictions: number;
}

/** Estimated heap per cached event besides its JSON (the parsed event object and the entry). */
export const HOT_EVENT_OVERHEAD_BYTES = 200;

interface Window {
  /** Ring of events: `events[head..]` in seq order. */
  events: LoggedEvent[];
  head: number;
  /** Seq right before the first cached event: the window covers `base + 1 … last`. */
  base: number;
  bytes: number;
  ended: NodeJS.Timeout | null;
}

const sizeOf = (e: LoggedEvent): number => HOT_EVENT_OVERHEAD_BYTES + (e.json?.length ?? 256);

export class HotCache {
  private readonly windows = new Map<string, Window>();
  private readonly maxEvents: number;
  private readonly maxJobBytes: number;
  private readonly maxBytes: number;
  private readonly graceMs: number;
  private readonly maxAgeMs: number;
  private totalBytes = 0;
  private totalEvents = 0;
  private hits = 0;
  private misses = 0;
  private evictions = 0;

  constructor(opts: HotCacheOptions = {}) {
    this.maxEvents = Math.max(0, Math.floor(opts.maxEvents ?? 1000));
    this.maxJobBytes = Math.max(0, opts.maxJobBytes ?? 1024 * 1024);
    this.maxBytes = Math.max(0, opts.maxBytes ?? 64 * 1024 * 1024);
    this.graceMs = Math.max(0, opts.graceMs ?? 10_000);
    this.maxAgeMs = opts.maxAgeMs ?? Infinity;
  }

  get enabled(): boolean {
    return this.maxEvents > 0 && this.maxJobBytes > 0 && this.maxBytes > 0;
  }

  /** How long the owner should keep a job's feed (and so its window) after its last reader left. */
  get lingerMs(): number {
    return this.enabled ? this.graceMs : 0;
  }

  /** The job's next live event, in the feed's dense seq order. */
  observe(jobId: string, e: LoggedEvent): void {
    if (!this.enabled) return;
    let w = this.windows.get(jobId);
    const seq = seqOf(e);
    if (w) {
      const last = this.lastSeq(w);
      if (seq <= last) return; // already held (never happens with an in-order feed)
      if (seq !== last + 1 || typeOf(e) === 'attempt') {
        // a gap, a rollback jump or a new attempt: restart the window at this event
        this.drop(jobId);
        w = undefined;
      } else {
        this.windows.delete(jobId); // most recently used last
        this.windows.set(jobId, w);
      }
    }
    if (!w) {
      w = { events: [], head: 0, base: seq - 1, bytes: 0, ended: null };
      this.windows.set(jobId, w);
    }
    const size = sizeOf(e);
    w.events.push(e);
    w.bytes += size;
    this.totalBytes += size;
    this.totalEvents++;
    while (this.count(w) > 1 && (this.count(w) > this.maxEvents || w.bytes > this.maxJobBytes)) this.shift(w);
    if (w.head > 1024 && w.head * 2 > w.events.length) {
      w.events = w.events.slice(w.head);
      w.head = 0;
    }
    if (isTerminalLogged(e) && !w.ended) {
      const ended = setTimeout(() => {
        if (this.windows.get(jobId) === w) this.drop(jobId);
      }, this.graceMs);
      ended.unref?.();
      w.ended = ended;
    }
    this.evict(jobId);
  }

  /**
   * Up to `limit` events right after `after` from memory, or null when the window does not hold the event after
   * `after` (no window, or the cursor lies before it). An empty array: the cursor is at or past the newest cached
   * event — the rest comes from the feed.
   */
  read(jobId: string, after: EventPosition, limit: number, maxBytes?: number): LoggedEvent[] | null {
    const w = this.windows.get(jobId);
    if (!w || after.seq < w.base) {
      this.misses++;
      return null;
    }
    this.hits++;
    const from = w.head + (after.seq - w.base);
    if (from >= w.events.length) return [];
    return w.events.slice(from, from + takeWithinBytes(w.events, from, Math.max(1, Math.floor(limit)), maxBytes));
  }

  /** Seqs the job's window covers (`base + 1 … last`), or null. */
  window(jobId: string): { base: number; last: number } | null {
    const w = this.windows.get(jobId);
    return w ? { base: w.base, last: this.lastSeq(w) } : null;
  }

  /**
   * The job's newest cached event when the window holds every event after `after` up to it (`base ≤ after.seq ≤
   * last`) and its oldest event is younger than `maxAgeMs`, else null. Counted as neither hit nor miss (the read
   * that follows is).
   */
  holds(jobId: string, after: EventPosition, now = Date.now()): LoggedEvent | null {
    const w = this.windows.get(jobId);
    if (!w || after.seq < w.base || after.seq > this.lastSeq(w)) return null;
    if (this.maxAgeMs !== Infinity && !(now - Date.parse(w.events[w.head]!.event.ts) < this.maxAgeMs)) return null;
    return w.events[w.events.length - 1]!;
  }

  /** Forgets the job's window (its feed stopped, or it restarts). */
  drop(jobId: string): void {
    const w = this.windows.get(jobId);
    if (!w) return;
    this.windows.delete(jobId);
    if (w.ended) clearTimeout(w.ended);
    this.totalBytes -= w.bytes;
    this.totalEvents -= this.count(w);
  }

  clear(): void {
    for (const jobId of [...this.windows.keys()]) this.drop(jobId);
  }

  stats(): HotCacheStats {
    return {
      jobs: this.windows.size,
      events: this.totalEvents,
      bytes: this.totalBytes,
      hits: this.hits,
      misses: this.misses,
      evictions: this.evictions,
    };
  }

  private count(w: Window): number {
    return w.events.length - w.head;
  }

  private lastSeq(w: Window): number {
    return w.base + this.count(w);
  }

  private shift(w: Window): void {
    const e = w.events[w.head]!;
    w.events[w.head] = undefined as unknown as LoggedEvent;
    w.head++;
    w.base = seqOf(e);
    const size = sizeOf(e);
    w.bytes -= size;
    this.totalBytes -= size;
    this.totalEvents--;
  }

  /** Drops least recently used windows (never `keep`, the one just fed) until the total fits. */
  private evict(keep: string): void {
    if (this.totalBytes <= this.maxBytes) return;
    for (const jobId of [...this.windows.keys()]) {
      if (this.totalBytes <= this.maxBytes) return;
      if (jobId === keep) continue;
      this.drop(jobId);
      this.evictions++;
    }
  }
}
