/** DI tokens of the engine's ports. */
export const EVENT_LOG = Symbol('EVENT_LOG');
export const JOB_STORE = Symbol('JOB_STORE');
export const JOB_QUEUE = Symbol('JOB_QUEUE');
export const JOB_CONTROL = Symbol('JOB_CONTROL');
export const ENGINE = Symbol('ENGINE');
