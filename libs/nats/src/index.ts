/** @jobstream/nats: the NATS connection of a process (nats.js v3) and the meaning of its errors. */
export * from './connect.js';
export * from './errors.js';
