/**
 * The worker loop of @jobstream/worker inside Nest: takes jobs from the queue (WORKER_CONCURRENCY at once), runs
 * them with the runner, and routes cancels to it; on shutdown lets running jobs finish for WORKER_SHUTDOWN_GRACE_MS
 * and hands the rest back to the queue. Used in-process by the embedded engine and by the worker app alike.
 */
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { JobControl, JobQueue } from '@jobstream/job-queue';
import { WorkerLoop, type AgentRegistry, type JobRunner } from '@jobstream/worker/runtime';
import { WorkerConfig } from '../config/worker.config.js';
import { JOB_CONTROL, JOB_QUEUE } from '../engine/engine.constants.js';
import { AGENT_REGISTRY, JOB_RUNNER } from './worker.constants.js';

@Injectable()
export class WorkerService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly loop: WorkerLoop;

  constructor(
    @Inject(JOB_QUEUE) queue: JobQueue,
    @Inject(JOB_CONTROL) control: JobControl,
    @Inject(JOB_RUNNER) runner: JobRunner,
    @Inject(AGENT_REGISTRY) agents: AgentRegistry,
    config: WorkerConfig,
  ) {
    this.loop = new WorkerLoop(queue, control, runner, agents, {
      concurrency: config.workerConcurrency,
      graceMs: config.workerShutdownGraceMs,
      logger: new Logger('Worker'),
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.loop.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.loop.stop();
  }
}
