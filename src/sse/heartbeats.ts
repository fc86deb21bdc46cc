/**
 * Keepalives for every open SSE connection of the process, from ONE timer (no timer per client), cheap at 10,000s
 * of idle connections.
 *
 * The rule: no connection stays silent for longer than the interval. The timer ticks `SLICES` times per interval
 * and writes a keepalive to each connection whose last write is at least `interval − tick` old (by the next tick it
 * would be over the interval); a connection that wrote anything more recently (an event, a page, a keepalive) needs
 * none yet. So an idle connection gets one keepalive per interval, a busy one none, and the phase of each
 * connection follows its own writes (connections opened over time are spread over the ticks by themselves).
 *
 * Bursts: the writes of a tick are the connections that fell silent in the same tick-long window, so connections
 * opened over time are spread over the ticks by their own phase; connections that wrote at the same moment (opened
 * together, or an event to all clients of a job) stay in one tick until their next data. Filling light ticks with
 * early keepalives to spread such a herd was tried: it did not converge and cost up to a third more keepalives
 * (bench/README.md, "Per idle connection").
 */

/** What the scheduler needs of a connection (`SseConnection` implements it). */
export interface HeartbeatTarget {
  /** `performance.now()` of the last write handed to the response; `Infinity` while a write waits for this turn's flush. */
  readonly lastWriteAt: number;
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
      // -Infinity while a write is pending this turn
      if (now - c.lastWriteAt >= this.due && c.keepalive()) written++;
    }
    return written;
  }
}
