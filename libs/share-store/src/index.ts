export * from './share-store.port.js';
export * from './memory-share-store.js';
export * from './redis-share-store.js';
