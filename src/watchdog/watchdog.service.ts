/** Runs the {@link JobWatchdog} on a timer in this process (API and worker alike; see job-watchdog.ts). */
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { EventLog } from '@jobstream/event-log';
import type { JobQueue } from '@jobstream/job-queue';
import type { JobStore } from '@jobstream/job-store';
import { CommonConfig } from '../config/common.config.js';
import { EVENT_LOG, JOB_QUEUE, JOB_STORE } from '../engine/engine.constants.js';
import { JobWatchdog, SweepErrors } from './job-watchdog.js';

@Injectable()
export class WatchdogService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Watchdog');
  readonly watchdog: JobWatchdog;
  private timer: NodeJS.Timeout | null = null;
  private inputTimer: NodeJS.Timeout | null = null;
  private sweeping: Promise<unknown> | null = null;
  private sweepingInputs: Promise<unknown> | null = null;
  private failures = 0;
  private inputFailures = 0;

  constructor(
    @Inject(JOB_STORE) store: JobStore,
    @Inject(EVENT_LOG) log: EventLog,
    @Inject(JOB_QUEUE) queue: JobQueue,
    private readonly config: CommonConfig,
  ) {
    this.watchdog = new JobWatchdog(
      store,
      log,
      {
        staleAfterMs: 2 * config.jobStallTimeoutMs,
        // a create waiting for Redis replicas may still be answered 503 (and abandoned): never dispatch it before
        dispatchGraceMs: Math.max(
          Math.min(5_000, config.jobStallTimeoutMs),
          config.redisReplicaAck ? 2 * config.redisReplicaAck.timeoutMs + 1_000 : 0,
        ),
      },
      queue,
    );
  }

  /**
   * Sweep period: half a stall timeout, at most 5 s (at least 250 ms), so a stale job ends within 2.5 stall
   * timeouts and a job whose dispatch was never confirmed is dispatched within ~10 s of its creation.
   */
  get intervalMs(): number {
    return Math.max(250, Math.min(5_000, Math.floor(this.config.jobStallTimeoutMs / 2)));
  }

  /** Input deadlines are checked every second (one range read of the store's deadline index). */
  static readonly INPUT_SWEEP_MS = 1_000;

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
    this.inputTimer = setInterval(() => this.tickInputs(), WatchdogService.INPUT_SWEEP_MS);
    this.inputTimer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.inputTimer) clearInterval(this.inputTimer);
    this.timer = null;
    this.inputTimer = null;
    await this.sweeping?.catch(() => {});
    await this.sweepingInputs?.catch(() => {});
  }

  private tickInputs(): void {
    if (this.sweepingInputs) return;
    this.sweepingInputs = this.watchdog
      .sweepInputs()
      .then(
        () => {
          this.inputFailures = 0;
        },
        (err: unknown) => {
          // each job that failed was logged with its id; an outage (the deadline index unreadable) is said once,
          // and the deadlines stay in the store to be checked again
          if (!(err instanceof SweepErrors) && this.inputFailures++ === 0)
            this.logger.warn({
              msg: 'input expiry sweep failed',
              error: err instanceof Error ? err.message : String(err),
            });
        },
      )
      .finally(() => {
        this.sweepingInputs = null;
      });
  }

  private tick(): void {
    if (this.sweeping) return;
    this.sweeping = this.watchdog
      .sweep()
      .then(
        () => {
          this.failures = 0;
        },
        (err: unknown) => {
          // a store or log outage: say so once per outage, keep trying. Per-job failures are reported each time.
          if (err instanceof SweepErrors)
            this.logger.warn({ msg: 'watchdog sweep: some jobs failed', error: err.message });
          else if (this.failures++ === 0)
            this.logger.warn({ msg: 'watchdog sweep failed', error: err instanceof Error ? err.message : String(err) });
        },
      )
      .finally(() => {
        this.sweeping = null;
      });
  }
}
