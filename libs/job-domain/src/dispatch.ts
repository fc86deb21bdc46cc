/**
 * Dispatch of a stored job to the work queue, idempotent and safe under any partial failure, so whoever finds the
 * job stranded repeats it (the create request, a retried create, the watchdog's sweep): `status: queued`, the
 * queue message, then the store's `dispatched_at` confirmation, each with a fixed dedup id. A job answered after a
 * question is continued instead: the log's tail is completed with what the answer adds (see {@link dispatchJob}).
 */
import type { EventLog, LoggedEvent } from '@jobstream/event-log';
import type { JobQueue } from '@jobstream/job-queue';
import type { InputRequestRecord, JobRecord, JobStore } from '@jobstream/job-store';
import {
  answerQueuedDedupId,
  dispatchDedupId,
  inputReceivedDedupId,
  queuedDedupId,
  waitingDedupId,
} from './dedup-ids.js';

export interface DispatchDeps {
  store: JobStore;
  log: EventLog;
  queue: JobQueue;
}

/**
 * Dispatches the job (see the header). Steps, each a no-op when repeated: (1) `status: queued` (`queuedDedupId`;
 * skipped when the log already holds an event of the job); (2) the queue message (`dispatchDedupId`, so a retry
 * within the queue's window does not run the job twice); (3) `dispatched_at`, which takes the job out of the
 * sweep's index. A failure at any step leaves the job `queued` and unconfirmed, where the sweep finds it. An
 * answered job's message has a dedup id of its own (`dispatchDedupId` with the request id).
 *
 * `fresh`: the record was just created, so its log is known to be empty. Returns the `status: queued` event when
 * this call appended it (the job's first event), else null.
 *
 * `confirmLater`: the confirmation (step 3) is started but not awaited, so the caller answers a round trip (two
 * with the Redis store's compare-and-set) sooner. Safe because the job is in the queue by then: the worker that
 * starts it confirms it too (`dispatched_at` in its transition to `running`), and a confirmation that fails only
 * leaves the job to the sweep, exactly as when it fails awaited (the create answers 201 either way: the record is
 * durable).
 */
export async function dispatchJob(
  deps: DispatchDeps,
  job: JobRecord,
  fresh = false,
  confirmLater?: (err: unknown) => void,
): Promise<LoggedEvent | null> {
  const answered = answeredRequest(job);
  let queued: LoggedEvent | null = null;
  if (answered) {
    await completeAnswerTail(deps.log, job.id, job.attempt, answered.request_id, answered.answer);
  } else if (fresh || (await deps.log.last(job.id)) === null) {
    queued = await deps.log.append(job.id, {
      event: { type: 'status', status: 'queued' },
      attempt: 1,
      dedupId: queuedDedupId(job.id),
      firstEvent: fresh,
    });
  }
  const attempt = Math.max(1, job.attempt);
  await deps.queue.enqueue(job.id, {
    agent: job.agent,
    tenant: job.tenant,
    dedupId: dispatchDedupId(job.id, attempt, answered?.request_id),
    // the event just appended, for the worker's first append (it need not look the job's last event up)
    ...(queued ? { lastEvent: { seq: queued.event.seq, pos: queued.pos, attempt: queued.event.attempt } } : {}),
  });
  const confirmed = deps.store.update(job.id, { dispatched_at: new Date().toISOString() });
  if (confirmLater) confirmed.catch(confirmLater);
  else await confirmed;
  return queued;
}

/** The answered question a queued job goes on with, or null for a job queued to start (or restart). */
export function answeredRequest(job: JobRecord): { request_id: string; answer: Record<string, unknown> } | null {
  const req = job.input_request;
  if (job.status !== 'queued' || !req || req.answer == null || req.attempt !== job.attempt) return null;
  return { request_id: req.request_id, answer: req.answer };
}

/**
 * The answered question a delivered job continues with when it starts attempt `attempt` (the runner's and the
 * HTTP worker's start), or null: the record is `queued` after an answer to that attempt's question.
 */
export function continuedRequest(rec: JobRecord, attempt: number): InputRequestRecord | null {
  return rec.status === 'queued' && rec.input_request?.attempt === attempt && rec.input_request.answer !== null
    ? rec.input_request
    : null;
}

/**
 * Appends what the answer to `rid` adds to a parked job's log and is not there yet. The job is parked (no runner
 * appends), so its tail after the question is one of: the question; `status: waiting_for_input`;
 * `input_received`; `status: queued` — and the steps go on from where it stopped.
 */
async function completeAnswerTail(
  log: EventLog,
  id: string,
  attempt: number,
  rid: string,
  input: Record<string, unknown>,
): Promise<void> {
  const last = (await log.last(id))?.event;
  const asked = last?.type === 'input_required' && last.request_id === rid;
  const parked = asked || (last?.type === 'status' && last.status === 'waiting_for_input');
  const received = parked || (last?.type === 'input_received' && last.request_id === rid);
  if (asked)
    await log.append(id, {
      event: { type: 'status', status: 'waiting_for_input' },
      attempt,
      dedupId: waitingDedupId(id, attempt, rid),
    });
  if (parked)
    await log.append(id, {
      event: { type: 'input_received', request_id: rid, input },
      attempt,
      dedupId: inputReceivedDedupId(id, rid),
    });
  if (received)
    await log.append(id, {
      event: { type: 'status', status: 'queued' },
      attempt,
      dedupId: answerQueuedDedupId(id, attempt, rid),
    });
}
