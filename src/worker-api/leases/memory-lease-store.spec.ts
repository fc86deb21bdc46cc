import { MemoryLeaseStore } from './memory-lease-store.js';
import { leaseStoreConformance } from './testing/lease-store.conformance.js';

leaseStoreConformance('memory', async () => new MemoryLeaseStore());
