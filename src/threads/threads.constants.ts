/** Threads: limits and DI tokens. */
export const THREAD_ADVANCER = Symbol('THREAD_ADVANCER');
export const THREADS_LIST_LIMIT_DEFAULT = 20;
export const THREADS_LIST_LIMIT_MAX = 100;
/** Most turns a thread may have, and most turns waiting behind its active one. */
export const THREAD_MAX_TURNS = 10_000;
export const THREAD_MAX_WAITING = 100;
