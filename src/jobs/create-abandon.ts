/**
 * A create answered with an error must leave no job that will run. When the store's create failed, its outcome may
 * be unknown (a timeout: the write may have been applied, or may still arrive, e.g. behind a paused Redis), so the
 * create is abandoned: the store refuses the record if it arrives later and removes it if it landed undispatched
 * (`JobStore.abandon`), in either order. The first try is sent at once and repeated with a growing delay while the
 * store is unreachable (with durable acknowledgements: until the replicas have the abandon too).
 */
import { Logger } from '@nestjs/common';
import type { JobRecord, JobStore } from '@jobstream/job-store';

const logger = new Logger('Jobs');
/** How long an abandon is retried (a create cannot arrive later than its connection lives). */
const ABANDON_FOR_MS = 120_000;

export function abandonCreate(store: JobStore, record: JobRecord, opts: { forMs?: number } = {}): Promise<void> {
  const until = Date.now() + (opts.forMs ?? ABANDON_FOR_MS);
  const attempt = async (delayMs: number): Promise<void> => {
    try {
      const outcome = await store.abandon(record);
      if (outcome !== 'absent')
        logger.warn({ msg: 'a failed create had landed; abandoned', job_id: record.id, outcome });
    } catch (err) {
      if (Date.now() + delayMs > until) {
        logger.error({
          msg: 'could not abandon a failed create',
          job_id: record.id,
          error: err instanceof Error ? err.message : String(err),
        });
        return;
      }
      await new Promise((r) => setTimeout(r, delayMs).unref());
      return attempt(Math.min(delayMs * 2, 5_000));
    }
  };
  return attempt(250);
}
