/**
 * Memory per retained event in the embedded engine's event log (MemoryEventLog), measured from the heap:
 * `node --expose-gc bench/memory-per-event.mjs [events]` after `npm run build`.
 *
 * For each event shape (short echo tokens, 40-character tokens, 1 KiB tokens), appends N events to one job through
 * the real driver, forces GC, and divides the heap growth by N. Also prints the driver's own byte estimate for the
 * same events, so the estimate EMBEDDED_MAX_BYTES is checked against can be compared with the real heap.
 */
import { MemoryEventLog } from '../dist/libs/event-log/src/index.js';

if (typeof globalThis.gc !== 'function') {
  console.error('run with: node --expose-gc bench/memory-per-event.mjs');
  process.exit(1);
}
const N = Number(process.argv[2] ?? 200_000);

const heap = () => {
  globalThis.gc();
  globalThis.gc();
  return process.memoryUsage().heapUsed;
};

const shapes = [
  { name: 'echo token (6 chars)', text: (i) => `w${i % 1000} ` },
  { name: 'token (40 chars)', text: () => 'x'.repeat(39) + ' ' },
  { name: 'token (1 KiB)', text: () => 'y'.repeat(1023) + ' ' },
];

const rows = [];
for (const shape of shapes) {
  const log = new MemoryEventLog({ retentionMs: 3_600_000, maxEvents: 10_000_000, maxBytes: 64 * 1024 ** 3 });
  const before = heap();
  for (let i = 0; i < N; i++) {
    await log.append('job_01M8EVBV0NC9CDY4Q1VF2S86QR', { event: { type: 'token', text: shape.text(i) }, attempt: 1 });
  }
  const after = heap();
  const est = log.size().bytes;
  rows.push({
    shape: shape.name,
    events: N,
    heap_bytes_per_event: Math.round((after - before) / N),
    estimate_bytes_per_event: Math.round(est / N),
  });
  await log.close();
}
console.table(rows);
console.log(JSON.stringify({ node: process.version, rows }));
