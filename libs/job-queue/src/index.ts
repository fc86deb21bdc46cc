export * from './job-queue.port.js';
export * from './memory-job-queue.js';
export * from './jetstream-job-queue.js';
export * from './agent-catalog.port.js';
export * from './memory-agent-catalog.js';
export * from './kv-agent-catalog.js';
