export * from './backoff.js';
export * from './connect.js';
export * from './errors.js';
export * from './replica-ack.js';
export * from './scan.js';
export * from './scripts.js';
