/**
 * Takes jobs from the queue (`concurrency` at once) for the agents of the registry, runs them with the
 * {@link JobRunner}, and routes cancel requests from the control channel to the runner.
 *
 * Stop: stop taking jobs at once (a job that still arrives is handed straight back), let the running ones finish for
 * `graceMs`, then hand the rest back to the queue (no terminal event: another worker runs them as their next attempt
 * at once). Cancels keep reaching running jobs until the end.
 */
import type { JobControl, JobQueue, QueueConsumer } from '@jobstream/job-queue';
import { silentLogger, type DomainLogger } from '@jobstream/job-domain';
import type { AgentRegistry } from './agent.js';
import type { JobRunner } from './runner/job-runner.js';

/** After the hand-back, how long stop waits for the handlers to release their jobs. */
const HAND_BACK_TIMEOUT_MS = 3_000;

/** True when `p` settles within `ms`. */
async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const settled = await Promise.race([
    p.then(
      () => true,
      () => true,
    ),
    new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms))),
  ]);
  clearTimeout(timer);
  return settled;
}

export interface WorkerLoopOptions {
  concurrency: number;
  /** How long running jobs may finish on stop before they are handed back. */
  graceMs: number;
  logger?: DomainLogger;
}

export class WorkerLoop {
  private consumer: QueueConsumer | null = null;
  private stopCancel: (() => void) | null = null;
  private readonly logger: DomainLogger;

  constructor(
    private readonly queue: JobQueue,
    private readonly control: JobControl,
    private readonly runner: JobRunner,
    private readonly agents: AgentRegistry,
    private readonly opts: WorkerLoopOptions,
  ) {
    this.logger = opts.logger ?? silentLogger;
  }

  async start(): Promise<void> {
    this.stopCancel = await this.control.onCancel((jobId, reason) => {
      if (this.runner.cancel(jobId, reason)) this.logger.log({ msg: 'cancelling job', job_id: jobId });
    });
    const agents = this.agents.names();
    this.consumer = await this.queue.consume((job) => this.runner.handle(job), {
      concurrency: this.opts.concurrency,
      agents,
    });
    this.logger.log(`worker taking jobs of ${agents.join(', ')} (concurrency ${this.opts.concurrency})`);
  }

  async stop(): Promise<void> {
    const consumer = this.consumer;
    this.consumer = null;
    if (consumer) {
      const drained = consumer.drain(); // stops taking jobs now
      const grace = this.opts.graceMs;
      const running = this.runner.runningJobs().length;
      if (running > 0) this.logger.log(`stopping: letting ${running} running job(s) finish for up to ${grace} ms`);
      if (!(await settlesWithin(drained, grace))) {
        const handed = this.runner.handBackAll();
        this.logger.log({
          msg: `grace period over: handing ${handed.length} job(s) back to the queue`,
          job_ids: handed,
        });
        if (!(await settlesWithin(drained, HAND_BACK_TIMEOUT_MS))) {
          this.logger.warn('some jobs were not handed back in time; the queue redelivers them after the stall timeout');
        }
      }
    }
    this.stopCancel?.();
    this.stopCancel = null;
  }
}
