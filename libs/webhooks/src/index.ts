export * from './webhook-store.port.js';
export * from './memory-webhook-store.js';
export * from './redis-webhook-store.js';
export * from './job-event-feed.js';
