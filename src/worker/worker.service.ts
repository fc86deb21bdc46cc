/**
 * Takes jobs from the queue (WORKER_CONCURRENCY at once), runs them with the {@link JobRunner}, and routes cancel
 * requests from the control channel to the runner. Used in-process by the embedded engine and by the worker
 * microservice alike.
 */
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { JobControl, JobQueue, QueueConsumer } from '../../libs/job-queue/src/index.js';
import { AppConfig } from '../config/config.js';
import { JOB_CONTROL, JOB_QUEUE } from '../engine/engine.constants.js';
import { JobRunner } from './job-runner.js';
import { JOB_RUNNER } from './worker.constants.js';

/**
 * How long shutdown waits for running jobs before leaving them to the queue's redelivery: half of
 * SHUTDOWN_TIMEOUT_MS, so that with the HTTP grace (30 %) and the engine close it fits in the process's budget.
 */
const drainTimeoutMs = (config: AppConfig) => Math.floor(config.shutdownTimeoutMs / 2);

@Injectable()
export class WorkerService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Worker');
  private consumer: QueueConsumer | null = null;
  private stopCancel: (() => void) | null = null;

  constructor(
    @Inject(JOB_QUEUE) private readonly queue: JobQueue,
    @Inject(JOB_CONTROL) private readonly control: JobControl,
    @Inject(JOB_RUNNER) private readonly runner: JobRunner,
    private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.stopCancel = await this.control.onCancel((jobId, reason) => {
      if (this.runner.cancel(jobId, reason)) this.logger.log({ msg: 'cancelling job', job_id: jobId });
    });
    this.consumer = await this.queue.consume((job) => this.runner.handle(job), {
      concurrency: this.config.workerConcurrency,
    });
    this.logger.log(`worker taking jobs (concurrency ${this.config.workerConcurrency})`);
  }

  async onApplicationShutdown(): Promise<void> {
    const consumer = this.consumer;
    this.consumer = null;
    if (consumer) {
      const running = this.runner.runningJobs().length;
      const ms = drainTimeoutMs(this.config);
      if (running > 0) this.logger.log(`waiting up to ${ms} ms for ${running} running job(s)`);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([consumer.drain(), new Promise((r) => (timer = setTimeout(r, ms)))]);
      clearTimeout(timer);
    }
    this.stopCancel?.();
    this.stopCancel = null;
  }
}
