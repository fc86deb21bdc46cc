/**
 * Starts a thread's next turn when its active turn ends — in whichever process settles that end (the worker that
 * ran the job, the API that cancelled a queued one, a watchdog), so an enqueued or interrupting turn starts even if
 * the API process that accepted it is gone. The decision (which job is next) is the thread store's atomic `settle`;
 * this class only hands the chosen job to the queue.
 *
 * {@link advancingThreads} wraps a JobStore so that every transition to a terminal status of a thread's job
 * triggers it: one hook, whatever path ended the job. A failure here never fails the transition: the thread sweep
 * ({@link ThreadSweeper}) repairs a thread that was not advanced.
 */
import { isTerminalStatus } from '@jobstream/contracts';
import type { JobQueue } from '@jobstream/job-queue';
import type { JobStore } from '@jobstream/job-store';
import type { ThreadStore } from '@jobstream/thread-store';
import { dispatchDedupId } from './dedup-ids.js';
import { silentLogger, type DomainLogger } from './logger.js';

/** Most turns skipped in one advance (each a waiting turn that ended or vanished meanwhile). */
const MAX_SKIPS = 1_000;

export class ThreadAdvancer {
  constructor(
    private readonly threads: ThreadStore,
    private readonly jobs: JobStore,
    private readonly queue: JobQueue,
    private readonly logger: DomainLogger = silentLogger,
  ) {}

  /** The job `jobId` of the thread ended (or never came to be): start the next turn, if any. */
  async jobEnded(threadId: string, jobId: string): Promise<void> {
    let ended = jobId;
    for (let i = 0; i < MAX_SKIPS; i++) {
      const { next } = await this.threads.settle(threadId, ended);
      if (next === null) return;
      if (await this.start(threadId, next)) return;
      ended = next;
    }
  }

  /**
   * Hands the thread's active job to the queue and records that it did. False when the job is already over or gone
   * (the caller then advances past it).
   */
  async start(threadId: string, jobId: string): Promise<boolean> {
    const rec = await this.jobs.get(jobId);
    if (!rec || isTerminalStatus(rec.status)) return false;
    if (rec.status === 'queued') {
      // the dispatch's own id: a repeated start (a sweep, a retry) within the window runs it once
      await this.queue.enqueue(jobId, {
        agent: rec.agent,
        tenant: rec.tenant,
        dedupId: dispatchDedupId(jobId, Math.max(1, rec.attempt)),
      });
      await this.jobs.update(jobId, { dispatched_at: new Date().toISOString() });
      this.logger.log({ msg: 'thread turn started', thread_id: threadId, job_id: jobId, turn: rec.turn });
    }
    await this.threads.markStarted(threadId, jobId);
    return true;
  }
}

/**
 * The job store, with one addition: a transition that ends a job of a thread advances that thread (see the header).
 * Every other member is the store's own (a Proxy, so abilities added to the port later pass through unchanged).
 */
export function advancingThreads(
  store: JobStore,
  advancer: () => ThreadAdvancer | null,
  logger: DomainLogger = silentLogger,
): JobStore {
  const transition: JobStore['transition'] = async (id, to, opts) => {
    const r = await store.transition(id, to, opts);
    const threadId = r.job?.thread_id;
    if (r.changed && r.job && threadId && isTerminalStatus(r.job.status)) {
      const a = advancer();
      if (a) {
        await a.jobEnded(threadId, id).catch((err: unknown) => {
          logger.warn({
            msg: 'advancing the thread failed; the thread sweep will retry',
            thread_id: threadId,
            job_id: id,
            error: String(err),
          });
        });
      }
    }
    return r;
  };
  return new Proxy(store, {
    get(target, prop) {
      if (prop === 'transition') return transition;
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}
