export * from './thread-store.port.js';
export * from './memory-thread-store.js';
export * from './redis-thread-store.js';
