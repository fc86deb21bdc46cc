/** Threads: limits and DI tokens. */
export const THREAD_ADVANCER = Symbol('THREAD_ADVANCER');
export const THREADS_LIST_LIMIT_DEFAULT = 20;
export const THREADS_LIST_LIMIT_MAX = 100;
