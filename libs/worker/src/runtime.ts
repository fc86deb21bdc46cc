/**
 * `@jobstream/worker/runtime`: the parts `createWorker` is made of, for a host that builds its own ports and
 * lifecycle (the jobstream app runs them inside Nest, in-process with the API or as its worker app).
 */
export { AgentRegistry } from './agent.js';
export { AgentAnnouncer, newWorkerId, type AnnouncerOptions } from './agent-announcer.js';
export { JobRunner, type JobRunnerOptions } from './runner/job-runner.js';
export { WorkerLoop, type WorkerLoopOptions } from './worker-loop.js';
export type { WorkerPorts } from './ports.js';
