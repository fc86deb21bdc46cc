/**
 * The public job representation: the store's record, with `last_event_id` from the log, and — when the log
 * already holds the terminal event but the store has not caught up yet — the terminal outcome from the log.
 */
import { isTerminalEvent, isTerminalStatus, type Job, type PendingInput } from '@jobstream/contracts';
import { cursorOf, type LoggedEvent } from '@jobstream/event-log';
import type { JobRecord } from '@jobstream/job-store';
import { statusOfTerminal } from '@jobstream/job-domain';

export function toJob(rec: JobRecord, last: LoggedEvent | null): Job {
  const job: Job = {
    id: rec.id,
    agent: rec.agent,
    status: rec.status,
    created_at: rec.created_at,
    started_at: rec.started_at,
    finished_at: rec.finished_at,
    attempt: rec.attempt,
    last_event_id: last ? cursorOf(last) : null,
    usage: rec.usage,
    error: rec.error,
    metadata: rec.metadata,
    pending_input: pendingInputOf(rec),
    stream_url: `/v1/jobs/${rec.id}/stream`,
    events_url: `/v1/jobs/${rec.id}/events`,
  };
  if (rec.thread_id !== undefined) job.thread_id = rec.thread_id;
  if (rec.turn !== undefined) job.turn = rec.turn;
  if (rec.rerun_of !== undefined) job.rerun_of = rec.rerun_of;
  if (last && isTerminalEvent(last.event) && !isTerminalStatus(rec.status)) {
    const t = last.event;
    job.status = statusOfTerminal(t);
    job.finished_at = t.ts;
    job.usage = t.usage;
    job.error = t.type === 'error' ? { code: t.code, message: t.message } : null;
    job.pending_input = null;
  }
  return job;
}

/**
 * The open request of a job, as clients see it (without the answer bookkeeping): while it waits, and in the moment
 * between its question and the status change (the runner records the request first, and accepts an answer then).
 */
export function pendingInputOf(rec: JobRecord): PendingInput | null {
  const r = rec.input_request;
  if (
    (rec.status !== 'waiting_for_input' && rec.status !== 'running') ||
    !r ||
    r.answer !== null ||
    r.attempt !== rec.attempt
  )
    return null;
  return {
    request_id: r.request_id,
    kind: r.kind,
    prompt: r.prompt,
    schema: r.schema,
    ...(r.tool_calls ? { tool_calls: r.tool_calls } : {}),
    expires_at: r.expires_at,
  };
}
