/**
 * Top self-time frames of a V8 .cpuprofile (from `node --cpu-prof`), no external tool:
 *   node bench/profile-summary.mjs <file.cpuprofile> [top=25] [fromUs toUs]
 * `window` = [fromUs, toUs]: only samples taken in that span of the monotonic clock (`process.hrtime` µs, the clock of
 * the profile's own timestamps), e.g. the connections scenario's steady idle window.
 * Self time of a node = the sampling intervals (timeDeltas) whose sample landed in it; frames are grouped by
 * function + file + line. Also prints self time by file ("where the time per event goes" at a coarser grain).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function summarize(file, top = 25, window = null) {
  const prof = JSON.parse(readFileSync(file, 'utf8'));
  let t = prof.startTime;
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map();
  let total = 0;
  for (let i = 0; i < prof.samples.length; i++) {
    const dt = prof.timeDeltas[i] ?? 0;
    t += dt;
    if (window && (t < window[0] || t > window[1])) continue;
    const n = byId.get(prof.samples[i]);
    if (!n) continue;
    total += dt;
    self.set(n.id, (self.get(n.id) ?? 0) + dt);
  }
  const frames = new Map();
  const files = new Map();
  for (const [id, us] of self) {
    const cf = byId.get(id).callFrame;
    const url = (cf.url || '')
      .replace(/^file:\/\//, '')
      .replace(/.*\/node_modules\//, 'node_modules/')
      .replace(/.*\/dist\//, 'dist/');
    const key = `${cf.functionName || '(anonymous)'}  ${url}${url ? `:${cf.lineNumber + 1}` : ''}`;
    frames.set(key, (frames.get(key) ?? 0) + us);
    const f = url ? url.replace(/^(node_modules\/(@[^/]+\/)?[^/]+).*/, '$1') : `(${cf.functionName || 'vm'})`;
    files.set(f, (files.get(f) ?? 0) + us);
  }
  const fmt = (m, n) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(
        ([k, us]) => `${((us / total) * 100).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}`,
      )
      .join('\n');
  return `profile ${file}: ${(total / 1e6).toFixed(2)} s sampled\n-- top self-time frames --\n${fmt(frames, top)}\n-- self time by file / package --\n${fmt(files, 15)}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [file, top, from, to] = process.argv.slice(2);
  if (!file) {
    console.error('usage: node bench/profile-summary.mjs <file.cpuprofile> [top]');
    process.exit(2);
  }
  console.log(summarize(file, Number(top ?? 25), from ? [Number(from), Number(to)] : null));
}
