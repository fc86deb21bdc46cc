/**
 * Client statistics across processes: a client process sends its stats with the latency histogram made sparse,
 * the runner adds up what each process sent.
 */

/** `stats` as sent over IPC: the histogram as `[bucket, count]` pairs, `first` null while nothing came. */
export function toWire(stats) {
  const { hist, ...rest } = stats;
  const sparse = [];
  if (hist) for (let i = 0; i < hist.length; i++) if (hist[i]) sparse.push([i, hist[i]]);
  return { ...rest, first: Number.isFinite(rest.first) ? rest.first : null, hist: sparse };
}

/** Adds the counters `keys` of one process's wire stats `r` into `out`, with its first / last times and histogram. */
export function addWire(out, r, keys) {
  for (const k of keys) out[k] += r[k];
  if (r.first !== null) out.first = Math.min(out.first, r.first);
  out.last = Math.max(out.last, r.last);
  if (r.hist.length) {
    out.hist ??= new Array(60_001).fill(0);
    for (const [i, c] of r.hist) out.hist[i] += c;
  }
  return out;
}
