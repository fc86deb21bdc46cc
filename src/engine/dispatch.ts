/**
 * Dispatch of a stored job to the work queue, safe under any partial failure and idempotent, so that it can be
 * repeated by whoever finds the job stranded: the create request itself, a create retried with the same
 * Idempotency-Key, or the watchdog's sweep of unconfirmed dispatches.
 *
 * Steps, each a no-op when repeated: (1) the job's first event `status: queued` (dedup id `<id>:queued`, and
 * skipped when the log already holds an event of the job); (2) the queue message (dedup id
 * `<id>:dispatch:<attempt>`, so a retry within the queue's window does not run the job twice); (3) the store's
 * confirmation `dispatched_at`, which takes the job out of the sweep's index. A failure at any step leaves the
 * job `queued` with `dispatched_at: null`, where the sweep finds it.
 */
import type { EventLog } from '../../libs/event-log/src/index.js';
import type { JobQueue } from '../../libs/job-queue/src/index.js';
import type { JobRecord, JobStore } from '../../libs/job-store/src/index.js';

export interface DispatchDeps {
  store: JobStore;
  log: EventLog;
  queue: JobQueue;
}

/** Dispatches the job (see the header). `fresh`: the record was just created, so its log is known to be empty. */
export async function dispatchJob(deps: DispatchDeps, job: JobRecord, fresh = false): Promise<void> {
  if (fresh || (await deps.log.last(job.id)) === null) {
    await deps.log.append(job.id, { event: { type: 'status', status: 'queued' }, attempt: 1, dedupId: `${job.id}:queued` });
  }
  await deps.queue.enqueue(job.id, { dedupId: `${job.id}:dispatch:${Math.max(1, job.attempt)}` });
  await deps.store.update(job.id, { dispatched_at: new Date().toISOString() });
}
