export * from './events.js';
export * from './job.js';
export * from './cursor.js';
export * from './subjects.js';
export * from './errors.js';
export * from './agents.js';
export * from './ids.js';
export * from './snapshot.js';
