/** @jobstream/nats: the NATS connection of a process (nats.js v3), the meaning of its errors, the retry schedule. */
export * from './connect.js';
export * from './errors.js';
export * from './retry.js';
