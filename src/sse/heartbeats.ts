/**
 * Keepalives for every open SSE connection of the process, from ONE timer (no timer per client): every connection
 * gets a `: keepalive` once per `HEARTBEAT_MS`, whether or not it carried data in between (the API promises the
 * comments themselves; proxies and clients may count on them). See {@link HeartbeatScheduler} for how.
 */

/** What the scheduler needs of a connection (`SseConnection` implements it). */
export interface HeartbeatTarget {
  /** Writes a keepalive; false when the connection is closed or was dropped. */
  keepalive(): boolean;
}

/** Ticks per interval. */
export const SLICES = 10;

/**
 * The timer ticks `SLICES` times per interval, so one tick writes about a tenth of the keepalives (no 10,000-write
 * stall once per interval), and visits only its own bucket of connections, not every connection. A connection joins
 * the bucket of the slot served last before it opened, so its next keepalive comes exactly one interval after that
 * slot: between (interval − tick) and interval after its opening frame (which carries the first keepalive), then
 * every interval. Connections opened over time spread over the buckets by themselves; a herd opened in the same
 * moment stays in one bucket. Slots follow the clock, not the count of timer callbacks: a late tick serves every slot
 * it missed (at most one interval's worth, so no connection gets two keepalives from one tick).
 */
export class HeartbeatScheduler<T extends HeartbeatTarget = HeartbeatTarget> {
  /** ms between ticks. */
  readonly tickMs: number;
  private readonly buckets: Set<T>[] = Array.from({ length: SLICES }, () => new Set<T>());
  /** Slots served so far; slot `s` is due at `start + (s + 1) * tickMs` and serves bucket `s % SLICES`. */
  private served = 0;
  private count = 0;

  constructor(
    readonly intervalMs: number,
    private readonly start = performance.now(),
  ) {
    this.tickMs = Math.max(1, intervalMs / SLICES);
  }

  /** Connections registered. */
  get size(): number {
    return this.count;
  }

  /** Registers a connection that just wrote its opening frame (which carries a keepalive). */
  add(c: T): void {
    const b = this.buckets[(this.served + SLICES - 1) % SLICES]!;
    if (b.has(c)) return;
    b.add(c);
    this.count++;
  }

  /** Unregisters a connection; false when it was not registered. */
  remove(c: T): boolean {
    for (const b of this.buckets) {
      if (b.delete(c)) {
        this.count--;
        return true;
      }
    }
    return false;
  }

  /** Every registered connection (a snapshot: safe to close them while iterating). */
  all(): T[] {
    return this.buckets.flatMap((b) => [...b]);
  }

  /**
   * One tick at time `now` (same clock as `start`): serves every slot that is due; returns how many keepalives
   * were written. Closed connections are simply not registered any more (their owner removes them).
   */
  tick(now: number): number {
    const due = Math.floor((now - this.start) / this.tickMs); // slots 0 … due − 1 are due
    if (due - this.served > SLICES) this.served = due - SLICES; // a stall of more than an interval: one round
    let written = 0;
    while (this.served < due) {
      const bucket = this.buckets[this.served % SLICES]!;
      this.served++;
      for (const c of bucket) if (c.keepalive()) written++;
    }
    return written;
  }
}
