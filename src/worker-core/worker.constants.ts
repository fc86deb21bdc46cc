export const AGENT_REGISTRY = Symbol('AGENT_REGISTRY');
export const JOB_RUNNER = Symbol('JOB_RUNNER');
/** Where the runner reports (the job domain's RunnerMetrics); provided by the API's MetricsModule, absent in a worker app. */
export const RUNNER_METRICS = Symbol('RUNNER_METRICS');
