/**
 * What the HTTP worker protocol shares with the TypeScript runner (@jobstream/job-domain), imported through this one file: the job-ending
 * module and its dedup ids, the size caps and the log-bytes account, the question schemas, the agent-definition
 * check. HTTP workers go through the same rules as a TypeScript agent.
 */
export {
  AgentDefinitionError,
  JobLogAccount,
  agentSchemas,
  attemptDedupId,
  attemptHistory,
  capEvent,
  continuedRequest,
  endCancelled,
  coalesceTextEvents,
  endDedupId,
  endJob,
  eventBytes,
  eventLogFullError,
  historyExpiredError,
  inputRequestProblem,
  invalidInputRequestError,
  jsonBytes,
  leaseBatchDedupId,
  leaseLapseDedupId,
  requestSchema,
  mergedOutputDedupId,
  runningDedupId,
  settleFromLog,
  toolCallStartDedupId,
  tooManyEventsError,
  waitingDedupId,
  workerLostError,
  type JobEndingDeps,
  type RunnerMetrics,
  type TerminalJobEvent,
} from '@jobstream/job-domain';
