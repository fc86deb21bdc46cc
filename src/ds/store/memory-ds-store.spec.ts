import { dsStoreConformance } from './testing/ds-store.conformance.js';
import { MemoryDsStore } from './memory-ds-store.js';

let shared: MemoryDsStore | null = null;
dsStoreConformance('memory', () => {
  shared ??= new MemoryDsStore();
  return Promise.resolve(shared);
});
