/** The job lifecycle: the one place a job ends (see job-ending.ts), shared by the runner, the API and the watchdog. */
export * from './dedup-ids.js';
export * from './job-ending.js';
export type * from './runner-metrics.js';
export * from './terminal.js';
