/**
 * @jobstream/job-domain: what happens to a job, over the store, log and queue ports — dispatch, the one place a job
 * ends, every dedup id, the platform's error endings, the event size caps and log-bytes account, questions' checks
 * and schemas, an attempt's history, agent definitions, and thread advancing. Used by the API, the watchdog and the
 * worker alike.
 */
export * from './agent-schemas.js';
export * from './attempt-history.js';
export * from './coalesce.js';
export * from './conversation-history.js';
export * from './dedup-ids.js';
export * from './dispatch.js';
export * from './event-caps.js';
export * from './input-requests.js';
export * from './input-schemas.js';
export * from './job-ending.js';
export * from './job-log-account.js';
export * from './logger.js';
export * from './platform-errors.js';
export type * from './runner-metrics.js';
export * from './terminal.js';
export * from './thread-advancer.js';
