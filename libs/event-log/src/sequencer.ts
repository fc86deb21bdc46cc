/**
 * Turns live events that may arrive duplicated, out of order or with gaps into the job's events in dense `seq`
 * order, exactly once each, backfilling what is missing from the log. Details: docs/internals.md.
 */
import type { EventPosition } from '@jobstream/contracts';
import {
  DEFAULT_PAGE_BYTES,
  eventSize,
  isFullPage,
  isRollbackJump,
  seqOf,
  type LoggedEvent,
} from './event-log.port.js';

export interface SequencerOptions {
  /** Position after which to emit; null ⇒ anchor at the first live event pushed. */
  start: EventPosition | null;
  /**
   * Reads at most `limit` events of the log after a position, ending after the event that brings the page to
   * `maxBytes` ({@link EventLog.read}); a short page (fewer events and fewer bytes) means the end for now.
   */
  fetch: (after: EventPosition, limit: number, maxBytes?: number) => Promise<LoggedEvent[]>;
  /** Events asked per read (default 1000). */
  pageSize?: number;
  /** Bytes (event JSON) per read (default {@link DEFAULT_PAGE_BYTES}). */
  pageBytes?: number;
  /** Live events held back while reading, at most (default 10,000). */
  maxPendingEvents?: number;
  /** Bytes (event JSON) of live events held back while reading, at most (default {@link DEFAULT_PAGE_BYTES}). */
  maxPendingBytes?: number;
  /** Receives every event once, in dense seq order. */
  emit: (e: LoggedEvent) => void;
  /** The log could not be read (the sequencer stops; the owner decides what to do). */
  onError: (err: unknown) => void;
  /** The log no longer holds the events right after `last` (retention): the owner decides what to do. */
  onLost?: (last: EventPosition, firstAvailable: LoggedEvent) => void;
}

/** Most consecutive reads that find nothing new while live events wait beyond a gap. */
const MAX_EMPTY_FETCHES = 5;

export class Sequencer {
  private last: EventPosition | null;
  private readonly pending = new Map<number, LoggedEvent>();
  private pendingBytes = 0;
  /** Highest seq of a live event not held because of the cap (0: none): the backfill reads up to it at least. */
  private beyond = 0;
  private fetching = false;
  private stopped = false;

  constructor(private readonly opts: SequencerOptions) {
    this.last = opts.start ? { ...opts.start } : null;
  }

  /** Position of the last emitted event (or the start). */
  position(): EventPosition | null {
    return this.last;
  }

  /** Offers a live event. */
  push(e: LoggedEvent): void {
    if (this.stopped) return;
    const seq = seqOf(e);
    if (this.last === null) {
      this.last = { seq: seq - 1, pos: 0 };
    }
    if (seq <= this.last.seq) return;
    if (!this.fetching && seq === this.last.seq + 1) {
      this.emitOne(e);
      this.drainPending();
      return;
    }
    this.hold(seq, e);
    if (!this.fetching) void this.backfill();
  }

  /** Reads the log from the current position up to its end (the replay), then goes on with live events. */
  catchUp(): Promise<void> {
    return this.backfill();
  }

  /**
   * Nothing held back and no read under way: the next live event is either a duplicate (seq ≤ position), the next
   * one (emitted at once) or beyond a gap. An owner may then drop the sequencer and pass events on itself until one
   * is not the next (a stream session does, so an idle live client holds no sequencer).
   */
  idle(): boolean {
    return !this.fetching && this.pending.size === 0 && this.beyond === 0 && !this.stopped;
  }

  /** Live events held back now (for tests and metrics). */
  held(): { events: number; bytes: number } {
    return { events: this.pending.size, bytes: this.pendingBytes };
  }

  stop(): void {
    this.stopped = true;
    this.pending.clear();
    this.pendingBytes = 0;
  }

  private hold(seq: number, e: LoggedEvent): void {
    if (this.pending.has(seq)) return;
    const size = eventSize(e);
    if (
      this.pending.size >= (this.opts.maxPendingEvents ?? 10_000) ||
      this.pendingBytes + size > (this.opts.maxPendingBytes ?? DEFAULT_PAGE_BYTES)
    ) {
      if (seq > this.beyond) this.beyond = seq; // read from the log instead
      return;
    }
    this.pending.set(seq, e);
    this.pendingBytes += size;
  }

  private unhold(seq: number): void {
    const e = this.pending.get(seq);
    if (e === undefined) return;
    this.pending.delete(seq);
    this.pendingBytes -= eventSize(e);
  }

  private emitOne(e: LoggedEvent): void {
    this.last = { seq: seqOf(e), pos: e.pos };
    this.opts.emit(e);
  }

  private drainPending(): void {
    if (this.last === null) return;
    if (this.beyond <= this.last.seq) this.beyond = 0;
    if (this.pending.size === 0) return;
    for (;;) {
      if (this.stopped) return;
      const next = this.pending.get(this.last.seq + 1);
      if (!next) break;
      this.unhold(seqOf(next));
      this.emitOne(next);
    }
    for (const seq of this.pending.keys()) if (seq <= this.last.seq) this.unhold(seq);
    if (this.beyond <= this.last.seq) this.beyond = 0;
  }

  private maxPending(): number {
    let max = this.beyond;
    for (const seq of this.pending.keys()) if (seq > max) max = seq;
    return max;
  }

  private async backfill(): Promise<void> {
    if (this.fetching || this.stopped) return;
    this.fetching = true;
    let empty = 0;
    try {
      while (!this.stopped && this.last !== null) {
        const pageSize = this.opts.pageSize ?? 1000;
        const pageBytes = this.opts.pageBytes ?? DEFAULT_PAGE_BYTES;
        const page = await this.opts.fetch(this.last, pageSize, pageBytes);
        if (this.stopped) return;
        let progressed = false;
        for (const e of page) {
          const seq = seqOf(e);
          if (seq <= this.last.seq) continue;
          if (seq !== this.last.seq + 1 && !isRollbackJump(e.event, this.last.seq)) {
            // The log itself lacks the next events: they expired.
            this.stopped = true;
            this.opts.onLost?.(this.last, e);
            return;
          }
          this.unhold(seq);
          this.emitOne(e);
          progressed = true;
          if (this.stopped) return;
        }
        this.drainPending();
        if (progressed && isFullPage(page, pageSize, pageBytes)) {
          empty = 0;
          continue; // more pages
        }
        // End of the log for now. Live events beyond a gap that the log does not show yet: read again, a few times.
        if ((this.pending.size === 0 && this.beyond === 0) || this.maxPending() <= this.last.seq) break;
        if (progressed) {
          empty = 0; // the log grew meanwhile: read on
          continue;
        }
        if (++empty > MAX_EMPTY_FETCHES) {
          // Live delivery is ahead of what the log lets us read: never emit past a gap; let the owner end and retry.
          throw new Error(
            `event log has no events after seq ${this.last.seq}, but seq ${this.maxPending()} was delivered live`,
          );
        }
        await new Promise((r) => setTimeout(r, 20 * empty));
      }
    } catch (err) {
      if (!this.stopped) {
        this.stopped = true;
        this.opts.onError(err);
      }
    } finally {
      this.fetching = false;
    }
    if (!this.stopped && (this.pending.size > 0 || this.beyond > 0)) {
      this.drainPending();
      if (this.pending.size > 0 || this.beyond > 0) void this.backfill();
    }
  }
}
