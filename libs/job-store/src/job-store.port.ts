/**
 * The JobStore port: job state (status, attempt, usage, error), idempotency keys and per-tenant listing.
 *
 * Contract every driver keeps (checked by `testing/job-store.conformance.ts`, run against every driver):
 * - **Atomic transitions.** `transition` changes status only when the current status may go to the new one
 *   ({@link canTransition}) and, when `from` is given, is one of `from` — as one atomic step, whatever the number
 *   of concurrent callers and processes. Nothing leaves a terminal status. The rules of what a transition writes
 *   (`started_at`, `finished_at`, the patch) live in {@link applyTransition}, shared by every driver.
 * - **Idempotent create.** With an idempotency key, the first create stores the job; a later create by the same
 *   tenant with the same key and the same fingerprint returns that job (`created: false`); with another
 *   fingerprint it fails with {@link IdempotencyConflictError}. Keys are per tenant and live `idempotencyTtlMs`.
 * - **Listing.** A tenant's jobs, newest first (ids are time-sortable), optionally by status, in pages whose
 *   opaque cursor continues exactly where the previous page stopped. Only that tenant's jobs.
 * - **Expiry.** A job in a terminal status is removed `retentionMs` after it finished; others are kept.
 * - **Delete.** `delete` removes every trace of a job at once (record, list entries, indexes, its idempotency key);
 *   `get` then answers null and no list shows it.
 * - **Liveness.** A `running` job has a last sign of life: `heartbeat_at` (written by `heartbeat` and by any
 *   transition or update that patches it), else `updated_at`. `listStale` finds running jobs whose last sign of life
 *   is older than a moment, oldest first, without scanning other jobs (drivers keep an index, updated atomically
 *   with the record). The watchdog uses it to end jobs whose worker vanished. A job `waiting_for_input` holds no
 *   worker and is never stale.
 * - **Input deadlines.** `listInputExpired` finds `waiting_for_input` jobs whose open request
 *   (`input_request.expires_at`) is due, soonest first, from an index kept like the liveness one (v1.1).
 * - **Guards.** `transition` takes an optional `where` predicate on the current record, checked in the same atomic
 *   step as `from` (drivers re-run it on every compare-and-set try): e.g. "the open request is still `r1`".
 * - **Open-jobs quota.** `create` with `quota.maxOpenJobs` > 0 refuses (throws {@link QuotaExceededError}, kind
 *   `active_jobs`) when the tenant already has that many jobs `queued`, `running` or `waiting_for_input` — counted
 *   and stored in one atomic step, so concurrent creates in any number of processes never pass it. An idempotent
 *   repeat of an earlier create is answered before the quota is looked at. The count is derived from the jobs'
 *   own statuses (no counter to drift): a job that ends frees its place.
 * - **Dispatch confirmation.** A new job's record has `dispatched_at: null` until the creator confirms that the
 *   work queue took it (an update writing `dispatched_at`). `listUndispatched` finds `queued` jobs whose dispatch
 *   was never confirmed (a create that failed half-way), oldest first, from an index kept atomically with the
 *   record. The watchdog re-dispatches them (idempotently), so no job is stranded in `queued`.
 * - **Log bytes.** Bytes of events each tenant (and job) holds in the event log, for the log-bytes quota: added by
 *   the writer as it appends, counted until the event log's retention (`logRetentionMs`) has passed since they were
 *   written (give or take one bucket: see log-bytes.ts), and taken out when the job is deleted. Only that tenant's.
 */
import type { LogBytes } from './log-bytes.js';
import { QuotaExceededError, type JobError, type JobStatus, type PendingInput, type Usage } from '@jobstream/contracts';

/**
 * A job's latest `input_required` (v1.1), kept on the record so that the API can check and validate an answer
 * without reading the log, and the watchdog can end the job at `expires_at`.
 */
export interface InputRequestRecord extends PendingInput {
  /** The attempt that asked (an answer continues that attempt). */
  attempt: number;
  /** The accepted answer, once there is one. */
  answer: Record<string, unknown> | null;
  answered_at: string | null;
}

export interface JobRecord {
  id: string;
  tenant: string;
  agent: string;
  input: Record<string, unknown>;
  metadata: Record<string, unknown> | null;
  status: JobStatus;
  created_at: string;
  updated_at: string;
  started_at: string | null;
  finished_at: string | null;
  attempt: number;
  usage: Usage;
  error: JobError | null;
  /** Set when a cancel was asked for (the reason, possibly empty). */
  cancel_reason: string | null;
  /** When the worker running the job last said it is alive (ISO time); absent or null before that. */
  heartbeat_at?: string | null;
  /**
   * When the work queue was confirmed to hold the job (ISO time). `null` on a new record until the creator
   * confirms the dispatch; absent on records written before this field existed (taken as dispatched).
   */
  dispatched_at?: string | null;
  /** v1.1: the thread this job is a turn of, and its turn number. */
  thread_id?: string;
  turn?: number;
  /** v1.1: the job this one reruns. */
  rerun_of?: string;
  /** The idempotency key it was created with, so that `delete` removes that key too. */
  idempotency_key?: string;
  /** The latest `input_required` of the job and its answer (v1.1); absent or null before the first. */
  input_request?: InputRequestRecord | null;
  /**
   * The job's answered requests: `request_id` → SHA-256 (hex) of the accepted answer's canonical JSON, the newest
   * {@link ANSWERED_INPUTS_KEPT}. A repeated answer to an earlier request is checked here, without reading the log.
   */
  answered_inputs?: Record<string, string>;
}

/** Answered requests remembered per job in {@link JobRecord.answered_inputs}. */
export const ANSWERED_INPUTS_KEPT = 64;

/** Fields a transition or update may write (never `status`, `id`, `tenant`, `created_at`). */
export type JobPatch = Partial<
  Pick<
    JobRecord,
    | 'attempt'
    | 'usage'
    | 'error'
    | 'cancel_reason'
    | 'started_at'
    | 'finished_at'
    | 'heartbeat_at'
    | 'dispatched_at'
    | 'input_request'
    | 'answered_inputs'
    | 'turn'
  >
>;

/** Options of a write. */
export interface WriteOptions {
  /**
   * The write is acknowledged to a client (an answer, a cancel): a store with replicas keeps it only once they have
   * it (`REDIS_MIN_REPLICAS_ACK`), else fails with {@link JobStoreUnavailableError} — the write may have landed.
   * Creates and abandons are always durable.
   */
  durable?: boolean;
}

export interface TransitionOptions extends WriteOptions {
  /** The current status must be one of these. */
  from?: readonly JobStatus[];
  /** And the current record must satisfy this (pure, synchronous; may run more than once). */
  where?: (job: JobRecord) => boolean;
  patch?: JobPatch;
}

export interface TransitionResult {
  /** The job after the call (unchanged when `changed` is false); null when unknown. */
  job: JobRecord | null;
  changed: boolean;
}

export interface ListQuery {
  status?: JobStatus;
  limit: number;
  cursor?: string | null;
}

export interface ListPage {
  items: JobRecord[];
  next_cursor: string | null;
}

export interface IdempotencyInput {
  key: string;
  /** A digest of the request body: the same key with another body is a conflict. */
  fingerprint: string;
}

/** The statuses that hold a place in a tenant's open-jobs quota. */
export const OPEN_STATUSES = ['queued', 'running', 'waiting_for_input'] as const satisfies readonly JobStatus[];

export interface CreateQuota {
  /** Most jobs of the tenant in an {@link OPEN_STATUSES} status; 0 = no quota. */
  maxOpenJobs: number;
  /** The `Retry-After` of a refusal (a running job of the tenant may end by then). */
  retryAfterS?: number;
}

export function openJobsQuotaError(q: CreateQuota): QuotaExceededError {
  return new QuotaExceededError(
    'active_jobs',
    q.maxOpenJobs,
    q.retryAfterS ?? 5,
    `at most ${q.maxOpenJobs} active jobs (queued, running or waiting for input) per tenant; retry when one has ended`,
  );
}

export interface JobStore {
  create(
    job: JobRecord,
    idempotency?: IdempotencyInput,
    quota?: CreateQuota,
  ): Promise<{ job: JobRecord; created: boolean }>;
  get(id: string): Promise<JobRecord | null>;
  list(tenant: string, query: ListQuery): Promise<ListPage>;
  transition(id: string, to: JobStatus, opts?: TransitionOptions): Promise<TransitionResult>;
  /** Writes non-status fields atomically; null when the job is unknown. */
  update(id: string, patch: JobPatch, opts?: WriteOptions): Promise<JobRecord | null>;
  /**
   * Records a sign of life of the worker running the job: sets `heartbeat_at` = `at` when the job is `running`.
   * False when the job is unknown or not running (nothing is written).
   */
  heartbeat(id: string, at: Date): Promise<boolean>;
  /**
   * Running jobs whose last sign of life (`heartbeat_at`, else `updated_at`) is strictly before `olderThan`,
   * oldest first, at most `limit` (≥ 1). Never a job in another status.
   */
  listStale(olderThan: Date, limit: number): Promise<JobRecord[]>;
  /**
   * `queued` jobs whose dispatch was never confirmed (`dispatched_at === null`) created strictly before
   * `olderThan`, oldest first, at most `limit` (≥ 1).
   */
  listUndispatched(olderThan: Date, limit: number): Promise<JobRecord[]>;
  /**
   * Jobs `waiting_for_input` whose `input_request.expires_at` is at or before `now`, soonest deadline first, at
   * most `limit` (≥ 1). Never a job in another status.
   */
  listInputExpired(now: Date, limit: number): Promise<JobRecord[]>;
  /**
   * Removes the job: its record, its place in every list and index, and the idempotency key it was created with
   * (when that key still names it). False when the job is unknown. Deleting does not check the status: callers
   * refuse active jobs first.
   */
  delete(id: string): Promise<boolean>;
  /**
   * Undoes a `create` whose outcome is unknown (it failed, but may have been applied, or may still be): a create
   * of `job.id` that arrives later is refused (a tombstone kept `idempotencyTtlMs`), and a record that did land is
   * removed — with its idempotency key, so a retry with that key creates the job anew — while it is still `queued`
   * and undispatched. `'kept'` when it landed and was dispatched or moved on meanwhile (it is a live job then).
   */
  abandon(job: JobRecord): Promise<'absent' | 'removed' | 'kept'>;
  /**
   * Adds `bytes` the job wrote to the log now; answers the tenant's and the job's counts after it. Atomic: any number
   * of writers in any number of processes may add for one tenant at once.
   */
  addLogBytes(tenant: string, jobId: string, bytes: number): Promise<LogBytesCount>;
  /** The tenant's bytes in the log now (and the job's, when asked). */
  logBytes(tenant: string, jobId?: string): Promise<LogBytesCount>;
  /** Checks the backing service answers (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface LogBytesCount extends LogBytes {
  /** Seconds until the tenant's oldest counted bytes stop counting (a `Retry-After` for a tenant over its quota). */
  retryAfterS: number;
}

export interface JobStoreOptions {
  /** How long a finished job is kept (ms). */
  retentionMs: number;
  /** How long the event log keeps an event (ms): how long its bytes count against its tenant. Default `retentionMs`. */
  logRetentionMs?: number;
  /** How long an idempotency key is remembered (ms). */
  idempotencyTtlMs: number;
}

export class IdempotencyConflictError extends Error {
  override readonly name = 'IdempotencyConflictError';
  constructor(readonly key: string) {
    super(`Idempotency-Key "${key}" was already used with a different request body`);
  }
}

export class InvalidListCursorError extends Error {
  override readonly name = 'InvalidListCursorError';
  constructor() {
    super('malformed list cursor');
  }
}

/** The store's backing service cannot be reached (maps to 503). */
export class JobStoreUnavailableError extends Error {
  override readonly name = 'JobStoreUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
