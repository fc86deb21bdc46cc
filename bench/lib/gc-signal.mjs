/**
 * Loaded into a measured process by the connections scenario (`node --expose-gc --import ./bench/lib/gc-signal.mjs`):
 * on SIGWINCH runs a full, compacting garbage collection (V8's "last resort" GC: what the process does by itself
 * only under memory pressure), so the bench can read the RSS that the open connections themselves hold, without the
 * uncollected garbage of the requests that opened them. Bench-only; nothing else changes in the process.
 */
process.on('SIGWINCH', () => {
  globalThis.gc?.({ type: 'major', execution: 'sync', flavor: 'last-resort' });
});
