import { MemoryThreadStore } from './memory-thread-store.js';
import type { ThreadStoreOptions } from './thread-store.port.js';
import { threadStoreConformance } from './testing/thread-store.conformance.js';

// Handles made with the same options share one store (like two processes on one Redis).
const engines = new Map<string, MemoryThreadStore>();
threadStoreConformance('memory', async (opts: ThreadStoreOptions) => {
  const key = JSON.stringify(opts);
  let engine = engines.get(key);
  if (!engine) engines.set(key, (engine = new MemoryThreadStore(opts)));
  return Object.assign(Object.create(engine) as MemoryThreadStore, { close: async () => {} });
});
