/**
 * The JobStore port: job state (status, attempt, usage, error), idempotency keys and per-tenant listing. The contract
 * every driver keeps (atomic transitions, idempotent create, listing, expiry, liveness, quotas, log bytes) is in
 * docs/stores.md; `testing/job-store.conformance.ts` checks it against every driver.
 */
import type { LogBytes } from './log-bytes.js';
import { QuotaExceededError, type JobError, type JobStatus, type PendingInput, type Usage } from '@jobstream/contracts';

/**
 * A job's latest `input_required`, kept on the record so that the API can check and validate an answer
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
  /** The thread this job is a turn of, and its turn number. */
  thread_id?: string;
  turn?: number;
  /** The job this one reruns. */
  rerun_of?: string;
  /** The idempotency key it was created with, so that `delete` removes that key too. */
  idempotency_key?: string;
  /** The latest `input_required` of the job and its answer; absent or null before the first. */
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
