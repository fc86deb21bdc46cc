export * from './job-queue.port.js';
export * from './memory-job-queue.js';
