export * from './job-queue.port.js';
export * from './memory-job-queue.js';
export * from './jetstream-job-queue.js';
