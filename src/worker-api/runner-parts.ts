/**
 * What the HTTP worker protocol shares with the TypeScript runner, imported through this one file: the job-ending
 * module and its dedup ids, the size caps and the log-bytes account, the question schemas, the agent-definition
 * check. HTTP workers go through the same rules as a TypeScript agent.
 */
export {
  cancelledDedupId,
  endDedupId,
  endJob,
  settleFromLog,
  waitingDedupId,
  type JobEndingDeps,
  type RunnerMetrics,
  type TerminalJobEvent,
} from '../worker-core/job-lifecycle/index.js';
export { capEvent, eventBytes, jsonBytes } from '../worker-core/caps/event-caps.js';
export { JobLogAccount } from '../worker-core/caps/job-log-account.js';
export { AgentDefinitionError, agentSchemas } from '../worker-core/agents/agent-schemas.js';
export { INPUT_LIMITS, InvalidInputSchemaError, inputSchemas, schemaFor } from '../interactive/input-schemas.js';
