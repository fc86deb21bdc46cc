export * from './event-log.port.js';
export * from './memory-event-log.js';
export * from './sequencer.js';
export * from './live-hub.js';
export { stampEvent } from './stamp.js';
export * from './jetstream-event-log.js';
export * from './snapshot-cache.js';
export * from './hot-cache.js';
export { StoredEvent, scanEnvelope, type Envelope } from './stored-event.js';
