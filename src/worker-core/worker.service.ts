/**
 * Takes jobs from the queue (WORKER_CONCURRENCY at once), runs them with the {@link JobRunner}, and routes cancel
 * requests from the control channel to the runner. Used in-process by the embedded engine and by the worker
 * microservice alike.
 *
 * Shutdown: stop taking jobs at once (a job that still arrives is handed straight back), let the running ones finish
 * for WORKER_SHUTDOWN_GRACE_MS, then hand the rest back to the queue (no terminal event: another worker runs them
 * as their next attempt at once). Cancels keep reaching running jobs until the end.
 */
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { JobControl, JobQueue, QueueConsumer } from '@jobstream/job-queue';
import { WorkerConfig } from '../config/worker.config.js';
import { JOB_CONTROL, JOB_QUEUE } from '../engine/engine.constants.js';
import { JobRunner } from './job-runner.js';
import type { AgentRegistry } from './agents/agent.js';
import { AGENT_REGISTRY, JOB_RUNNER } from './worker.constants.js';

/** After the hand-back, how long shutdown waits for the handlers to release their jobs. */
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

@Injectable()
export class WorkerService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Worker');
  private consumer: QueueConsumer | null = null;
  private stopCancel: (() => void) | null = null;

  constructor(
    @Inject(JOB_QUEUE) private readonly queue: JobQueue,
    @Inject(JOB_CONTROL) private readonly control: JobControl,
    @Inject(JOB_RUNNER) private readonly runner: JobRunner,
    @Inject(AGENT_REGISTRY) private readonly agents: AgentRegistry,
    private readonly config: WorkerConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.stopCancel = await this.control.onCancel((jobId, reason) => {
      if (this.runner.cancel(jobId, reason)) this.logger.log({ msg: 'cancelling job', job_id: jobId });
    });
    const agents = this.agents.names();
    this.consumer = await this.queue.consume((job) => this.runner.handle(job), {
      concurrency: this.config.workerConcurrency,
      agents,
    });
    this.logger.log(`worker taking jobs of ${agents.join(', ')} (concurrency ${this.config.workerConcurrency})`);
  }

  async onApplicationShutdown(): Promise<void> {
    const consumer = this.consumer;
    this.consumer = null;
    if (consumer) {
      const drained = consumer.drain(); // stops taking jobs now
      const grace = this.config.workerShutdownGraceMs;
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
