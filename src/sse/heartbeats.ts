/**
 * Keepalives for every open SSE connection of the process, from ONE timer (no timer per client), cheap at 10,000s
 * of idle connections.
 *
 * The rule (API.md: "comment lines are sent every `HEARTBEAT_MS`, from the first moment"): every connection gets a
 * keepalive once per interval, whether or not it carried data in between — the contract promises the comments
 * themselves, and a proxy or client may count on them. The timer ticks `SLICES` times per interval and writes a
 * keepalive to each connection whose last keepalive (or the opening frame, which carries one) is at least
 * `interval − tick` old; so no connection goes longer than the interval without one, and the phase of each
 * connection follows its own opening (connections opened over time are spread over the ticks by themselves).
 *
 * Bursts: connections opened in the same moment stay in one tick. Filling light ticks with early keepalives to
 * spread such a herd was tried: it did not converge and cost up to a third more keepalives (bench/README.md,
 * "Per idle connection").
 */

/** What the scheduler needs of a connection (`SseConnection` implements it). */
export interface HeartbeatTarget {
  /** `performance.now()` of the last keepalive written (or of the opening frame, which carries one). */
  readonly lastKeepaliveAt: number;
  /** Writes a keepalive (handed over with this turn's flush); false when the connection is closed or was dropped. */
  keepalive(): boolean;
}

/** Ticks per interval. */
export const SLICES = 10;

export class HeartbeatScheduler {
  /** ms between ticks. */
  readonly tickMs: number;
  private readonly due: number;

  constructor(readonly intervalMs: number) {
    this.tickMs = Math.max(1, intervalMs / SLICES);
    this.due = intervalMs - this.tickMs;
  }

  /**
   * One tick at time `now` over the open connections (in a stable order); returns how many keepalives were
   * written. Closed connections are simply not in `open` (their owner removes them).
   */
  tick(open: Iterable<HeartbeatTarget>, now: number): number {
    let written = 0;
    for (const c of open) {
      if (now - c.lastKeepaliveAt >= this.due && c.keepalive()) written++;
    }
    return written;
  }
}
