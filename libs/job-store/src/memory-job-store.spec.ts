import { MemoryJobStore } from './memory-job-store.js';
import { jobStoreConformance } from './testing/job-store.conformance.js';

// Two handles in the suite share one engine, as two components of one process do.
const engines = new Map<string, MemoryJobStore>();
jobStoreConformance('memory', async (opts) => {
  const key = JSON.stringify(opts);
  let engine = engines.get(key);
  if (!engine) engines.set(key, (engine = new MemoryJobStore(opts)));
  return Object.assign(Object.create(engine) as MemoryJobStore, { close: async () => {} });
});
