export const AGENT_REGISTRY = Symbol('AGENT_REGISTRY');
export const JOB_RUNNER = Symbol('JOB_RUNNER');
