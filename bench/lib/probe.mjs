/**
 * Loaded into a measured process with `node --import ./bench/lib/probe.mjs` (the bench's `--profile`): records the
 * event-loop delay histogram (`perf_hooks.monitorEventLoopDelay`), every stall of the loop over 20 ms (when, how
 * long — from a 5 ms interval timer's lateness), and every GC (PerformanceObserver 'gc': kind, duration, when),
 * and writes a JSON summary to $PROBE_OUT when the process exits. Costs one 5 ms timer; no effect on the app.
 */
import { monitorEventLoopDelay, PerformanceObserver, performance, constants } from 'node:perf_hooks';
import { writeFileSync } from 'node:fs';

const out = process.env.PROBE_OUT;
if (out) {
  const h = monitorEventLoopDelay({ resolution: 5 });
  h.enable();
  const t0 = performance.now();
  const stalls = [];
  let last = performance.now();
  const tick = setInterval(() => {
    const now = performance.now();
    const late = now - last - 5;
    if (late > 20) stalls.push([Math.round(last - t0), Math.round(late)]);
    last = now;
  }, 5);
  tick.unref();
  const KINDS = {
    [constants.NODE_PERFORMANCE_GC_MINOR]: 'scavenge',
    [constants.NODE_PERFORMANCE_GC_MAJOR]: 'mark-sweep',
    [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
    [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
  };
  const gcs = [];
  new PerformanceObserver((list) => {
    for (const e of list.getEntries())
      gcs.push([
        Math.round(e.startTime - t0),
        Math.round(e.duration * 100) / 100,
        KINDS[e.detail?.kind ?? e.kind] ?? 'other',
      ]);
  }).observe({ entryTypes: ['gc'] });
  process.once('exit', () => {
    const ms = (ns) => Math.round(ns / 1e4) / 100;
    const byKind = {};
    for (const [, d, k] of gcs) {
      const b = (byKind[k] ??= { count: 0, total_ms: 0, max_ms: 0 });
      b.count++;
      b.total_ms += d;
      b.max_ms = Math.max(b.max_ms, d);
    }
    for (const b of Object.values(byKind)) b.total_ms = Math.round(b.total_ms);
    writeFileSync(
      out,
      JSON.stringify({
        pid: process.pid,
        seconds: Math.round(performance.now() - t0) / 1000,
        loop_delay_ms: {
          p50: ms(h.percentile(50)),
          p90: ms(h.percentile(90)),
          p99: ms(h.percentile(99)),
          p999: ms(h.percentile(99.9)),
          max: ms(h.max),
          mean: ms(h.mean),
        },
        stalls_over_20ms: stalls.length,
        stalls_over_100ms: stalls.filter((s) => s[1] > 100).length,
        worst_stalls: [...stalls].sort((a, b) => b[1] - a[1]).slice(0, 10),
        gc: byKind,
        worst_gcs: [...gcs].sort((a, b) => b[1] - a[1]).slice(0, 10),
      }),
    );
  });
}
