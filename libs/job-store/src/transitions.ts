/** Pure rules shared by every JobStore driver, so that they behave alike. */
import { canTransition, isTerminalStatus, type JobStatus } from '@jobstream/contracts';
import { InvalidListCursorError, type JobPatch, type JobRecord, type TransitionOptions } from './job-store.port.js';

/** A new job's record: queued, attempt 1, nothing used yet. */
export function newJobRecord(
  fields: Pick<JobRecord, 'id' | 'tenant' | 'agent' | 'input' | 'metadata'> &
    Partial<Pick<JobRecord, 'thread_id' | 'turn' | 'rerun_of' | 'idempotency_key'>>,
  now: Date = new Date(),
): JobRecord {
  const iso = now.toISOString();
  return {
    ...fields,
    status: 'queued',
    created_at: iso,
    updated_at: iso,
    started_at: null,
    finished_at: null,
    attempt: 1,
    usage: { input_tokens: 0, output_tokens: 0 },
    error: null,
    cancel_reason: null,
    dispatched_at: null,
  };
}

/** The record after moving it to `to`, or null when the move is not allowed. */
export function applyTransition(job: JobRecord, to: JobStatus, opts: TransitionOptions, now: Date): JobRecord | null {
  if (opts.from && !opts.from.includes(job.status)) return null;
  if (opts.where && !opts.where(job)) return null;
  if (!canTransition(job.status, to)) return null;
  const iso = now.toISOString();
  const next: JobRecord = { ...job, ...opts.patch, status: to, updated_at: iso };
  if (to === 'running' && next.started_at === null) next.started_at = iso;
  if (isTerminalStatus(to) && next.finished_at === null) next.finished_at = iso;
  return next;
}

export function applyPatch(job: JobRecord, patch: JobPatch, now: Date): JobRecord {
  return { ...job, ...patch, status: job.status, updated_at: now.toISOString() };
}

/** List cursors: the id of the last job of the previous page, base64url so that clients treat it as opaque. */
export function encodeListCursor(lastId: string): string {
  return Buffer.from(lastId, 'utf8').toString('base64url');
}

export function decodeListCursor(cursor: string): string {
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!/^job_[0-9A-Z]{26}$/.test(id)) throw new InvalidListCursorError();
  return id;
}

/** The status of a job that some worker holds (the watchdog watches its heartbeat). */
export function isActiveStatus(s: JobStatus): boolean {
  return s === 'running';
}

/** When a waiting job's open request expires (ms since the epoch), or null when the job is not waiting. */
export function inputDeadline(job: JobRecord): number | null {
  if (job.status !== 'waiting_for_input' || !job.input_request) return null;
  const t = Date.parse(job.input_request.expires_at);
  return Number.isFinite(t) ? t : null;
}

/** The job's last sign of life (ms since the epoch): its heartbeat, else its last write. */
export function lastSignOfLife(job: JobRecord): number {
  return Date.parse(job.heartbeat_at ?? job.updated_at);
}

/**
 * A queued job whose dispatch to the work queue was never confirmed (the watchdog re-dispatches it). A thread's
 * turn is not one until an answer queues it again: its thread hands it to the queue once the turns before it ended
 * (and the thread sweep repairs a hand-over that was lost), so the sweep never starts it early.
 */
export function needsDispatch(job: JobRecord): boolean {
  if (job.status !== 'queued' || job.dispatched_at !== null) return false;
  if (!job.thread_id) return true;
  const req = job.input_request;
  return !!req && req.answer != null && req.attempt === job.attempt;
}
