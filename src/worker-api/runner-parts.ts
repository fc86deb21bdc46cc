/**
 * What the HTTP worker protocol shares with the TypeScript runner (@jobstream/job-domain), imported through this one file: the job-ending
 * module and its dedup ids, the size caps and the log-bytes account, the question schemas, the agent-definition
 * check. HTTP workers go through the same rules as a TypeScript agent.
 */
export {
  AgentDefinitionError,
  INPUT_LIMITS,
  InvalidInputSchemaError,
  JobLogAccount,
  agentSchemas,
  attemptDedupId,
  cancelledDedupId,
  capEvent,
  coalesceTextEvents,
  endDedupId,
  endJob,
  eventBytes,
  inputSchemas,
  jsonBytes,
  leaseBatchDedupId,
  leaseLapseDedupId,
  mergedOutputDedupId,
  runningDedupId,
  schemaFor,
  settleFromLog,
  toolCallStartDedupId,
  waitingDedupId,
  type JobEndingDeps,
  type RunnerMetrics,
  type TerminalJobEvent,
} from '@jobstream/job-domain';
