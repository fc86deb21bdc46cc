import { describe, expect, it } from '@jest/globals';
import { HeartbeatScheduler, SLICES, type HeartbeatTarget } from './heartbeats.js';

/** A connection on a manual clock: records the times of its keepalives and of other writes (`data()`). */
class FakeConn implements HeartbeatTarget {
  lastKeepaliveAt: number;
  readonly dataAt: number[] = [];
  readonly keepalives: number[] = [];
  closed = false;
  constructor(
    private readonly clock: { now: number },
    openedAt = clock.now,
  ) {
    this.lastKeepaliveAt = openedAt; // the opening frame carries the first keepalive
  }
  data(): void {
    this.dataAt.push(this.clock.now);
  }
  keepalive(): boolean {
    if (this.closed) return false;
    this.keepalives.push(this.clock.now);
    this.lastKeepaliveAt = this.clock.now;
    return true;
  }
}

/** Runs the scheduler's ticks from `from` to `to` (ms) over the connections as the registry would. */
function run(
  s: HeartbeatScheduler,
  clock: { now: number },
  open: Set<FakeConn>,
  to: number,
  each?: (t: number) => void,
): number[] {
  const perTick: number[] = [];
  while (clock.now + s.tickMs <= to) {
    clock.now += s.tickMs;
    each?.(clock.now);
    perTick.push(s.tick(open, clock.now));
  }
  return perTick;
}

/** Longest time without any write, per connection, given its keepalives and other writes. */
function longestSilence(writes: number[], from: number, to: number): number {
  const ts = [from, ...writes.sort((a, b) => a - b), to];
  let max = 0;
  for (let i = 1; i < ts.length; i++) max = Math.max(max, ts[i]! - ts[i - 1]!);
  return max;
}

describe('HeartbeatScheduler', () => {
  it('ticks SLICES times per interval', () => {
    expect(new HeartbeatScheduler(1000).tickMs).toBe(1000 / SLICES);
    expect(SLICES).toBeGreaterThan(1);
  });

  it('gives every idle connection a keepalive within each interval, about one per interval', () => {
    const clock = { now: 0 };
    const s = new HeartbeatScheduler(1000);
    const open = new Set<FakeConn>();
    // opened at different moments over the first second
    for (let i = 0; i < 50; i++) open.add(new FakeConn(clock, (i * 37) % 1000));
    run(s, clock, open, 10_000);
    for (const c of open) {
      expect(longestSilence(c.keepalives, 1000, 10_000)).toBeLessThanOrEqual(1000);
      // about one per interval: never written again before (interval − one tick) of silence
      expect(c.keepalives.length).toBeLessThanOrEqual(11);
      expect(c.keepalives.length).toBeGreaterThanOrEqual(9);
      for (let i = 1; i < c.keepalives.length; i++)
        expect(c.keepalives[i]! - c.keepalives[i - 1]!).toBeGreaterThanOrEqual(1000 - s.tickMs);
    }
  });

  it('keeps sending a keepalive every interval to a connection that carries data (the contract: every HEARTBEAT_MS)', () => {
    const clock = { now: 0 };
    const s = new HeartbeatScheduler(1000);
    const busy = new FakeConn(clock);
    const open = new Set([busy]);
    // data every 300 ms for 5 s
    run(s, clock, open, 5000, (t) => {
      if (t % 300 === 0) busy.data();
    });
    expect(busy.dataAt.length).toBeGreaterThan(10);
    expect(busy.keepalives.length).toBeGreaterThanOrEqual(4);
    expect(longestSilence(busy.keepalives, 0, 5000)).toBeLessThanOrEqual(1000);
  });

  it('drops closed connections from the batch: only the open ones are visited', () => {
    const clock = { now: 0 };
    const s = new HeartbeatScheduler(1000);
    const a = new FakeConn(clock);
    const b = new FakeConn(clock);
    const open = new Set([a, b]);
    run(s, clock, open, 2000);
    const bBefore = b.keepalives.length;
    expect(bBefore).toBeGreaterThanOrEqual(1);
    b.closed = true;
    open.delete(b); // what SseConnections.remove does when the response ends
    const written = run(s, clock, open, 5000).reduce((x, y) => x + y, 0);
    expect(b.keepalives.length).toBe(bBefore);
    expect(written).toBe(a.keepalives.filter((t) => t > 2000).length);
    expect(longestSilence(a.keepalives, 0, 5000)).toBeLessThanOrEqual(1000);
  });

  it('does not count a keepalive that a closed connection refused', () => {
    const clock = { now: 0 };
    const s = new HeartbeatScheduler(1000);
    const c = new FakeConn(clock);
    c.closed = true;
    expect(run(s, clock, new Set([c]), 3000).reduce((x, y) => x + y, 0)).toBe(0);
  });

  it('writes a herd opened in the same moment in one tick per interval, never more often', () => {
    const clock = { now: 0 };
    const s = new HeartbeatScheduler(1000);
    const open = new Set<FakeConn>();
    const n = 1000;
    for (let i = 0; i < n; i++) open.add(new FakeConn(clock));
    const perTick = run(s, clock, open, 10_000);
    expect(perTick.reduce((x, y) => x + y, 0)).toBe(n * Math.floor(10_000 / (1000 - s.tickMs)));
    for (const c of open) expect(longestSilence(c.keepalives, 0, 10_000)).toBeLessThanOrEqual(1000);
  });
});
