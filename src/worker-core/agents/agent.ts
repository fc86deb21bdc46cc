/** The agent interface of the built-in agents: @jobstream/worker's (see libs/worker/README.md and docs/agents.md). */
export { AgentRegistry } from '@jobstream/worker/runtime';
export { abortableDelay, defineAgent } from '@jobstream/worker';
export type { Agent, AgentContext, AgentDefinition, AgentInputRequest, AgentOutput } from '@jobstream/worker';
