/**
 * Turns live events that may arrive duplicated, out of order or with gaps into the job's events in dense `seq`
 * order, exactly once each, backfilling what is missing from the log.
 *
 * Used twice: by {@link LiveHub} once per job per process (so a gap in the broker's live delivery is repaired
 * once for every client), and by each stream session, whose replay from its cursor is simply the first backfill.
 *
 * The rule (as in centrifuge's recovery and mercure's history dispatch): hold live events while reading the log,
 * merge by seq, drop what was already emitted, and when a live event jumps past `last + 1`, read the gap from the
 * log before going on.
 *
 * The one jump in seq that is not a gap: the `attempt` event (reason `log_rollback`) that follows a hole left by a
 * failover that lost acknowledged events (see the EventLog port). The log itself jumps there; it is emitted as the
 * next event, and it voids everything before it.
 */
import type { EventPosition } from '@jobstream/contracts';
import { isRollbackJump, seqOf, type LoggedEvent } from './event-log.port.js';

export interface SequencerOptions {
  /** Position after which to emit; null ⇒ anchor at the first live event pushed. */
  start: EventPosition | null;
  /** Reads at most `limit` events of the log after a position; a short page means the end for now. */
  fetch: (after: EventPosition, limit: number) => Promise<LoggedEvent[]>;
  /** Events asked per read (default 1000). */
  pageSize?: number;
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
    this.pending.set(seq, e);
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
    return !this.fetching && this.pending.size === 0 && !this.stopped;
  }

  stop(): void {
    this.stopped = true;
    this.pending.clear();
  }

  private emitOne(e: LoggedEvent): void {
    this.last = { seq: seqOf(e), pos: e.pos };
    this.opts.emit(e);
  }

  private drainPending(): void {
    if (this.pending.size === 0 || this.last === null) return;
    for (;;) {
      if (this.stopped) return;
      const next = this.pending.get(this.last.seq + 1);
      if (!next) break;
      this.pending.delete(seqOf(next));
      this.emitOne(next);
    }
    for (const seq of this.pending.keys()) if (seq <= this.last.seq) this.pending.delete(seq);
  }

  private maxPending(): number {
    let max = 0;
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
        const page = await this.opts.fetch(this.last, pageSize);
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
          this.pending.delete(seq);
          this.emitOne(e);
          progressed = true;
          if (this.stopped) return;
        }
        this.drainPending();
        if (page.length >= pageSize && progressed) {
          empty = 0;
          continue; // more pages
        }
        // End of the log for now. Live events beyond a gap that the log does not show yet: read again, a few times.
        if (this.pending.size === 0 || this.maxPending() <= this.last.seq) break;
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
    if (!this.stopped && this.pending.size > 0) {
      this.drainPending();
      if (this.pending.size > 0) void this.backfill();
    }
  }
}
