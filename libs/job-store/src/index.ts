export * from './job-store.port.js';
export * from './memory-job-store.js';
export * from './transitions.js';
export * from './redis-job-store.js';
export * from './log-bytes.js';
