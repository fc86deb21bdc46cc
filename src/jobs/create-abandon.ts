/**
 * A create answered with an error must leave no job that will run. When the store's create failed, its outcome may
 * be unknown (a timeout: the write may have been applied, or may still arrive, e.g. behind a paused Redis), so the
 * create is abandoned: the store refuses the record if it arrives later and removes it if it landed undispatched
 * (`JobStore.abandon`), in either order. The first try is sent at once and repeated with a growing delay while the
 * store is unreachable (with durable acknowledgements: until the replicas have the abandon too).
 */
import { Logger } from '@nestjs/common';
import type { JobRecord, JobStore } from '@jobstream/job-store';
import { retry, type RetrySchedule } from '@jobstream/nats';

const logger = new Logger('Jobs');
/** How long an abandon is retried (a create cannot arrive later than its connection lives). */
const ABANDON_FOR_MS = 120_000;
/** 250 ms doubling to 5 s. */
const ABANDON_RETRY: RetrySchedule = { firstMs: 250, maxMs: 5_000 };

export async function abandonCreate(store: JobStore, record: JobRecord, opts: { forMs?: number } = {}): Promise<void> {
  try {
    const outcome = await retry(() => store.abandon(record), {
      ...ABANDON_RETRY,
      forMs: opts.forMs ?? ABANDON_FOR_MS,
      unref: true,
    });
    if (outcome !== 'absent') logger.warn({ msg: 'a failed create had landed; abandoned', job_id: record.id, outcome });
  } catch (err) {
    logger.error({
      msg: 'could not abandon a failed create',
      job_id: record.id,
      error: err instanceof Error ? err.message : String(err),
    });
  }
}
