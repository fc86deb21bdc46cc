import { describe, expect, it } from '@jest/globals';
import { HeartbeatScheduler, SLICES, type HeartbeatTarget } from './heartbeats.js';

/** A connection on a manual clock: records the times of its keepalives. */
class FakeConn implements HeartbeatTarget {
  readonly keepalives: number[] = [];
  closed = false;
  constructor(
    private readonly clock: { now: number },
    readonly openedAt = clock.now,
  ) {}
  keepalive(): boolean {
    if (this.closed) return false;
    this.keepalives.push(this.clock.now);
    return true;
  }
}

/**
 * Runs the scheduler's timer from the clock's time to `to` (ms): a tick every `every` ms (default: the scheduler's
 * tick; the timer of a busy process is late), `each(t)` before each tick. Returns the keepalives written per tick.
 */
function run(
  s: HeartbeatScheduler<FakeConn>,
  clock: { now: number },
  to: number,
  { every = s.tickMs, each }: { every?: number; each?: (t: number) => void } = {},
): number[] {
  const perTick: number[] = [];
  while (clock.now + every <= to) {
    clock.now += every;
    each?.(clock.now);
    perTick.push(s.tick(clock.now));
  }
  return perTick;
}

/** Longest time without a keepalive, from the opening frame (which carries one) to `to`. */
function longestSilence(c: FakeConn, to: number): number {
  const ts = [c.openedAt, ...c.keepalives, to];
  let max = 0;
  for (let i = 1; i < ts.length; i++) max = Math.max(max, ts[i]! - ts[i - 1]!);
  return max;
}

/** Opens connections on the clock at the given times (ms), ticking in between. */
function openAt(s: HeartbeatScheduler<FakeConn>, clock: { now: number }, times: number[], to: number): FakeConn[] {
  const conns: FakeConn[] = [];
  const pending = [...times].sort((a, b) => a - b);
  const step = 1;
  // a fine clock: connections open between ticks, ticks come on time
  while (clock.now < to) {
    clock.now += step;
    while (pending.length && pending[0]! <= clock.now) {
      pending.shift();
      const c = new FakeConn(clock);
      s.add(c);
      conns.push(c);
    }
    if (clock.now % s.tickMs === 0) s.tick(clock.now);
  }
  return conns;
}

describe('HeartbeatScheduler', () => {
  it('ticks SLICES times per interval', () => {
    expect(new HeartbeatScheduler(1000, 0).tickMs).toBe(1000 / SLICES);
    expect(SLICES).toBeGreaterThan(1);
  });

  it('gives every connection its first keepalive within an interval of its opening, then one every interval', () => {
    const clock = { now: 0 };
    const s = new HeartbeatScheduler<FakeConn>(1000, 0);
    // opened at different moments over the first two seconds
    const conns = openAt(
      s,
      clock,
      Array.from({ length: 50 }, (_, i) => 1 + ((i * 37) % 2000)),
      10_000,
    );
    expect(conns).toHaveLength(50);
    for (const c of conns) {
      expect(c.keepalives[0]! - c.openedAt).toBeLessThanOrEqual(1000);
      expect(c.keepalives[0]! - c.openedAt).toBeGreaterThanOrEqual(1000 - s.tickMs);
      for (let i = 1; i < c.keepalives.length; i++) expect(c.keepalives[i]! - c.keepalives[i - 1]!).toBe(1000);
      expect(longestSilence(c, 10_000)).toBeLessThanOrEqual(1000);
    }
  });

  it('visits only the connections whose slot has come: each tick writes about a tenth of them', () => {
    const clock = { now: 0 };
    const s = new HeartbeatScheduler<FakeConn>(1000, 0);
    // 1,000 connections opened evenly over one interval
    openAt(
      s,
      clock,
      Array.from({ length: 1000 }, (_, i) => 1 + i),
      1000,
    );
    const perTick = run(s, clock, 3000);
    expect(perTick).toHaveLength(20);
    for (const n of perTick) expect(n).toBe(100);
  });

  it('keeps the keepalives on time when the timer is late: a late tick serves the slots it missed', () => {
    const clock = { now: 0 };
    const s = new HeartbeatScheduler<FakeConn>(1000, 0);
    const conns = openAt(
      s,
      clock,
      Array.from({ length: 100 }, (_, i) => 1 + i * 10),
      1000,
    );
    // the timer fires every 250 ms instead of every 100 ms (a busy event loop)
    run(s, clock, 10_000, { every: 250 });
    for (const c of conns) {
      expect(longestSilence(c, 10_000)).toBeLessThanOrEqual(1000 + 250);
      // never two keepalives from one tick
      expect(new Set(c.keepalives).size).toBe(c.keepalives.length);
      expect(c.keepalives.length).toBeGreaterThanOrEqual(8);
    }
  });

  it('after a stall longer than an interval, writes one keepalive per connection, not one per missed slot', () => {
    const clock = { now: 0 };
    const s = new HeartbeatScheduler<FakeConn>(1000, 0);
    const conns = openAt(
      s,
      clock,
      Array.from({ length: 30 }, (_, i) => 1 + i * 33),
      1000,
    );
    clock.now = 5000; // the loop was blocked for 4 s
    expect(s.tick(clock.now)).toBe(30);
    for (const c of conns) expect(c.keepalives.filter((t) => t === 5000)).toHaveLength(1);
  });

  it('stops visiting removed connections and does not count a keepalive that a closed connection refused', () => {
    const clock = { now: 0 };
    const s = new HeartbeatScheduler<FakeConn>(1000, 0);
    const [a, b, c] = openAt(s, clock, [10, 20, 30], 100);
    expect(s.size).toBe(3);
    run(s, clock, 2000);
    const bBefore = b!.keepalives.length;
    expect(bBefore).toBeGreaterThanOrEqual(1);
    expect(s.remove(b!)).toBe(true); // what SseConnections.remove does when the response ends
    expect(s.remove(b!)).toBe(false);
    c!.closed = true; // closed, its owner not told yet: refuses the keepalive
    const written = run(s, clock, 5000).reduce((x, y) => x + y, 0);
    expect(b!.keepalives.length).toBe(bBefore);
    expect(written).toBe(a!.keepalives.filter((t) => t > 2000).length);
    expect(longestSilence(a!, 5000)).toBeLessThanOrEqual(1000);
    expect(s.size).toBe(2);
    expect(s.all()).toEqual(expect.arrayContaining([a, c]));
  });

  it('writes a herd opened in the same moment in one tick per interval, never more often', () => {
    const clock = { now: 0 };
    const s = new HeartbeatScheduler<FakeConn>(1000, 0);
    const n = 1000;
    const herd = Array.from({ length: n }, () => new FakeConn(clock));
    for (const c of herd) s.add(c);
    const perTick = run(s, clock, 10_000);
    expect(perTick.filter((x) => x > 0)).toHaveLength(10);
    expect(perTick.reduce((x, y) => x + y, 0)).toBe(n * 10);
    for (const c of herd) expect(longestSilence(c, 10_000)).toBeLessThanOrEqual(1000);
  });
});
