/** Removes every trace of a job: its record, its events and its share links (job delete, thread delete). */
import type { EventLog } from '@jobstream/event-log';
import type { JobStore } from '@jobstream/job-store';
import type { ShareStore } from '@jobstream/share-store';

export async function purgeJob(id: string, store: JobStore, log: EventLog, shares: ShareStore): Promise<void> {
  // shares first (a token must not outlive its job), the record last (while it exists the delete can be retried)
  await shares.deleteForJob(id);
  await log.delete(id);
  await store.delete(id);
}
