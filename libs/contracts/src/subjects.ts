/**
 * NATS names shared by the API, the workers and internal services. Documented for integrators in docs/NATS.md.
 */

/** JetStream stream holding every job's events; one subject per job. */
export const EVENTS_STREAM = 'JOBSTREAM_EVENTS';
export const EVENTS_SUBJECT_PREFIX = 'jobstream.events';
export const eventsSubject = (jobId: string): string => `${EVENTS_SUBJECT_PREFIX}.${jobId}`;
export const EVENTS_SUBJECT_WILDCARD = `${EVENTS_SUBJECT_PREFIX}.*`;

/**
 * JetStream work-queue stream for dispatch. A job is published on `jobstream.dispatch.<agent>.<tenant>`
 * ({@link dispatchSubject}); each (agent, tenant) subject has its own durable pull consumer shared by every worker
 * serving that agent, so workers choose the tenant of each free slot (see docs/NATS.md). {@link DISPATCH_SUBJECT}
 * itself is the older single subject (one FIFO for every agent and tenant), still drained after an upgrade by
 * {@link DISPATCH_CONSUMER}.
 */
export const DISPATCH_STREAM = 'JOBSTREAM_DISPATCH';
export const DISPATCH_SUBJECT = 'jobstream.dispatch';
export const DISPATCH_CONSUMER = 'jobstream-workers';

/** A subject token for any string: letters, digits, `_` and `-` as they are, every other byte as `%XX`. */
export function subjectToken(s: string): string {
  return /^[A-Za-z0-9_-]+$/.test(s)
    ? s
    : Array.from(new TextEncoder().encode(s), (b) =>
        /[A-Za-z0-9_-]/.test(String.fromCharCode(b))
          ? String.fromCharCode(b)
          : `%${b.toString(16).toUpperCase().padStart(2, '0')}`,
      ).join('');
}

/** The string a {@link subjectToken} stands for. */
export function fromSubjectToken(token: string): string {
  return token.includes('%') ? decodeURIComponent(token) : token;
}

/** Where a job of `agent` for `tenant` is dispatched (below the `base` subject, by default the contract's). */
export const dispatchSubject = (agent: string, tenant: string, base: string = DISPATCH_SUBJECT): string =>
  `${base}.${subjectToken(agent)}.${subjectToken(tenant)}`;

/** Core NATS control subject: cancel requests reach the worker running the job at once. */
export const CONTROL_CANCEL_PREFIX = 'jobstream.control.cancel';
export const cancelSubject = (jobId: string): string => `${CONTROL_CANCEL_PREFIX}.${jobId}`;

/** Request-reply API for internal services (served by the API processes, queue group `jobstream-api`). */
export const API_SUBJECTS = {
  create: 'jobstream.api.jobs.create',
  get: 'jobstream.api.jobs.get',
  cancel: 'jobstream.api.jobs.cancel',
  /** Answer a job's open `input_required`. */
  input: 'jobstream.api.jobs.input',
  /** Create a thread; create a turn (job) of a thread. */
  threadsCreate: 'jobstream.api.threads.create',
  threadJobsCreate: 'jobstream.api.threads.jobs.create',
} as const;
export const API_QUEUE_GROUP = 'jobstream-api';

/** Worker diagnostics (request-reply, answered by EVERY worker: collect several replies to see them all). */
export const WORKER_SUBJECTS = {
  ping: 'jobstream.worker.ping',
} as const;
