/**
 * The start of an attempt, for one delivery of a job: a job that ended or waits for an answer is let go; a job
 * found `running` lost its previous holder, so the next attempt starts with an `attempt` event (clients discard the
 * earlier attempt's output) — or the job fails with `worker_lost` once MAX_ATTEMPTS are spent; an answered question
 * continues the same attempt from its log. Then the job moves to `running`, `status: running` is appended (its
 * log-bytes account opening meanwhile), and the attempt loop runs it.
 */
import { isTerminalStatus } from '@jobstream/contracts';
import { LOG_ROLLBACK_REASON, LogRollbackError } from '@jobstream/event-log';
import type { QueuedJob } from '@jobstream/job-queue';
import {
  attemptDedupId,
  continuedRequest,
  rollbackDedupId,
  runningDedupId,
  workerLostError,
} from '@jobstream/job-domain';
import type { AttemptLoop } from './attempt-loop.js';
import type { RunnerCore } from './core.js';
import type { Running } from './deliveries.js';

/** Appends the `attempt` event that starts attempt `attempt` after a lost worker; false when the job already ended. */
async function startAfterLostWorker(core: RunnerCore, jobId: string, attempt: number): Promise<boolean> {
  try {
    const event = { type: 'attempt' as const, attempt, reason: 'worker_lost' };
    return await core.ending.append(jobId, attempt, event, attemptDedupId(jobId, attempt));
  } catch (err) {
    // the log also lost events this process had appended: the new attempt voids them as well
    if (!(err instanceof LogRollbackError)) throw err;
    const event = { type: 'attempt' as const, attempt, reason: LOG_ROLLBACK_REASON };
    return core.ending.append(jobId, attempt, event, rollbackDedupId(jobId, attempt));
  }
}

export async function startAttempt(core: RunnerCore, loop: AttemptLoop, q: QueuedJob, state: Running): Promise<void> {
  const jobId = q.jobId;
  const rec = await core.store.get(jobId);
  // ended, or waiting for an answer holding no worker (the answer dispatches it again)
  if (!rec || isTerminalStatus(rec.status) || rec.status === 'waiting_for_input') {
    await q.ack();
    return;
  }
  let attempt = Math.max(1, rec.attempt);
  if (rec.status === 'running') {
    // The previous holder of this job vanished mid-run.
    const spent = attempt;
    if (spent >= core.opts.maxAttempts) {
      await core.ending.end(jobId, spent, workerLostError(spent, rec.usage));
      await q.ack();
      return;
    }
    attempt = spent + 1;
    if (!(await startAfterLostWorker(core, jobId, attempt))) {
      await q.ack();
      return;
    }
  }
  const answered = continuedRequest(rec, attempt);
  const tr = await core.store.transition(jobId, 'running', {
    from: ['queued', 'running'],
    // a job that reached a worker was dispatched, whatever its creator managed to confirm
    patch: {
      attempt,
      heartbeat_at: new Date().toISOString(),
      dispatched_at: rec.dispatched_at ?? new Date().toISOString(),
    },
  });
  if (!tr.changed || !tr.job) {
    await q.ack(); // cancelled (or ended) meanwhile
    return;
  }
  core.opts.metrics?.jobTransition('running');
  // the log-bytes count is read while `status: running` is appended (one store round trip less before the agent)
  const opening = loop.openAccount(tr.job);
  // the dispatcher's `status: queued` (carried by the queue message): the log need not look the job's last event up
  const after = rec.status === 'queued' && q.lastEvent?.attempt === attempt ? q.lastEvent : undefined;
  const running = { type: 'status' as const, status: 'running' as const };
  if (
    !(await core.ending.append(jobId, attempt, running, runningDedupId(jobId, attempt, answered?.request_id), after))
  ) {
    await q.ack();
    return;
  }
  if (tr.job.cancel_reason !== null) {
    state.cancelReason ??= tr.job.cancel_reason;
    state.abort.abort(new Error('cancelled before start'));
  }
  if ((await loop.run(tr.job, attempt, q, state, answered !== null, opening)) === 'release') await q.release();
  else await q.ack();
}
