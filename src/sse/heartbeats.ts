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
 * Bursts: connections that wrote at the same moment (opened together, or an event to all clients of a job) would
 * stay due in the same tick forever. A tick with fewer due connections than its fair share (open ÷ SLICES) also
 * writes, up to that share, to connections silent for at least half the interval: a herd spreads over the ticks
 * within a few intervals, at the price of a few early keepalives (none in a tick that is already at its share).
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
  private readonly early: number;

  constructor(readonly intervalMs: number) {
    this.tickMs = Math.max(1, intervalMs / SLICES);
    this.due = intervalMs - this.tickMs;
    this.early = intervalMs / 2;
  }

  /**
   * One tick at time `now` over the open connections (in a stable order); returns how many keepalives were
   * written. Closed connections are simply not in `open` (their owner removes them).
   */
  tick(open: Iterable<HeartbeatTarget>, size: number, now: number): number {
    const share = Math.ceil(size / SLICES);
    let written = 0;
    // `early` is only taken where the tick would otherwise stay under its share: count what is due first
    let due = 0;
    for (const c of open) if (now - c.lastWriteAt >= this.due) due++;
    let room = share - due;
    for (const c of open) {
      const silent = now - c.lastWriteAt; // -Infinity while a write is pending this turn
      if (silent >= this.due) {
        if (c.keepalive()) written++;
      } else if (room > 0 && silent >= this.early) {
        room--;
        if (c.keepalive()) written++;
      }
    }
    return written;
  }
}
