import { MemoryByteLog } from './memory-byte-log.js';
import { byteLogConformance } from './testing/byte-log.conformance.js';

// Two handles share one log, as two components of one process do.
let shared: MemoryByteLog | null = null;
byteLogConformance('memory', () => {
  shared ??= new MemoryByteLog();
  return Promise.resolve(Object.assign(Object.create(shared) as MemoryByteLog, { close: () => Promise.resolve() }));
});
