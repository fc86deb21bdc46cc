import { MemoryShareStore } from './memory-share-store.js';
import { shareStoreConformance } from './testing/share-store.conformance.js';

const shared = new MemoryShareStore();
shareStoreConformance('memory', async () =>
  Object.assign(Object.create(shared) as MemoryShareStore, { close: async () => {} }),
);
