/** DI tokens of the HTTP worker protocol. */
export const WORKER_LEASES = Symbol('WORKER_LEASES');
