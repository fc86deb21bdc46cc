/**
 * @jobstream/worker: run your own TypeScript agents as jobstream workers. `defineAgent` writes an agent,
 * `createWorker` serves it (see README.md). The history helpers read what an attempt already did when a job
 * continues after an answer.
 */
export { abortableDelay, defineAgent } from './agent.js';
export type { Agent, AgentContext, AgentDefinition, AgentInputRequest, AgentOutput } from './agent.js';
export { createWorker } from './create-worker.js';
export type { CreateWorkerOptions, PlatformSettings, Worker } from './create-worker.js';
export * from './history.js';
export type { DomainLogger as WorkerLogger } from '@jobstream/job-domain';
