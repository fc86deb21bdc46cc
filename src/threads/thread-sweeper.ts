/**
 * Repairs threads whose advancing process died: every API process looks, on a timer, at busy threads whose state
 * has not changed for a while (`graceMs`, one job stall timeout) and
 * - advances a thread whose active job has ended or is gone (the process that ended it died before advancing);
 * - hands to the queue an active job that was chosen but never handed over (`active_started` still false);
 * - cancels (`interrupted`) an active job that an interrupting turn waits on, when that cancel was never asked for
 *   (the accepting process died right after the turn was recorded), and the waiting turns that interrupt dropped.
 * Safe to run in every process at once: `settle` is idempotent and `markStarted` is recorded once.
 */
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { isTerminalStatus } from '@jobstream/contracts';
import type { JobStore } from '@jobstream/job-store';
import type { ThreadStore } from '@jobstream/thread-store';
import { AppConfig } from '../config/config.js';
import { PeriodicPass } from '../common/periodic-pass.js';
import { JOB_STORE, THREAD_STORE } from '../engine/engine.constants.js';
import { ThreadsService } from './threads.service.js';

@Injectable()
export class ThreadSweeper implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Threads');
  private readonly passes = new PeriodicPass(
    () => this.sweep(),
    (err, inARow) => {
      if (inARow === 1)
        this.logger.warn({ msg: 'thread sweep failed', error: err instanceof Error ? err.message : String(err) });
    },
  );

  constructor(
    @Inject(THREAD_STORE) private readonly threads: ThreadStore,
    @Inject(JOB_STORE) private readonly jobs: JobStore,
    private readonly service: ThreadsService,
    private readonly config: AppConfig,
  ) {}

  get graceMs(): number {
    return this.config.jobStallTimeoutMs;
  }

  onApplicationBootstrap(): void {
    this.passes.start(Math.max(250, Math.floor(this.graceMs / 2)));
  }

  async onApplicationShutdown(): Promise<void> {
    await this.passes.stop();
  }

  /**
   * One pass; returns the ids of the threads it repaired. A thread (or one of its jobs) that cannot be repaired is
   * logged with its ids and the error, and the pass goes on with the others: one bad record never stalls the rest.
   */
  async sweep(now = Date.now()): Promise<string[]> {
    const repaired: string[] = [];
    for (const t of await this.threads.listBusy(new Date(now - this.graceMs), 100)) {
      // waiting turns an interrupt dropped: cancel those still open (their end takes them off the list)
      for (const id of t.cancelling) {
        await this.attempt(t.id, id, async () => {
          const rec = await this.jobs.get(id);
          if (rec && !isTerminalStatus(rec.status)) await this.service.interrupt(rec.tenant, id);
          else await this.service.advancer.jobEnded(t.id, id);
          if (!repaired.includes(t.id)) repaired.push(t.id);
        });
      }
      const active = t.active_job_id;
      if (active === null) continue;
      await this.attempt(t.id, active, async () => {
        const rec = await this.jobs.get(active);
        if (!rec || isTerminalStatus(rec.status)) {
          await this.service.advancer.jobEnded(t.id, active);
          repaired.push(t.id);
        } else if (!t.active_started) {
          if (!(await this.service.advancer.start(t.id, active))) await this.service.advancer.jobEnded(t.id, active);
          repaired.push(t.id);
        } else if (t.interrupting === active && rec.cancel_reason === null) {
          await this.service.interrupt(rec.tenant, active);
          repaired.push(t.id);
        }
      });
    }
    if (repaired.length > 0)
      this.logger.warn({ msg: 'repaired threads whose advancing process went away', threads: repaired });
    return repaired;
  }

  /** Runs one repair; a failure is logged (thread and job ids, the error's message) and the pass goes on. */
  private async attempt(threadId: string, jobId: string, repair: () => Promise<void>): Promise<void> {
    try {
      await repair();
    } catch (err) {
      this.logger.warn({
        msg: 'thread sweep: could not repair a thread; going on with the others',
        thread_id: threadId,
        job_id: jobId,
        error: err instanceof Error ? err.message : String(err),
      });
    }
  }
}
