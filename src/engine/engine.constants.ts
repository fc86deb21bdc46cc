/** DI tokens of the engine's ports. */
export const EVENT_LOG = Symbol('EVENT_LOG');
export const JOB_STORE = Symbol('JOB_STORE');
export const JOB_QUEUE = Symbol('JOB_QUEUE');
export const JOB_CONTROL = Symbol('JOB_CONTROL');
export const ENGINE = Symbol('ENGINE');
export const THREAD_STORE = Symbol('THREAD_STORE');
export const SHARE_STORE = Symbol('SHARE_STORE');
export const AGENT_CATALOG = Symbol('AGENT_CATALOG');
