/**
 * Runs jobs: takes a job from the queue, moves it to `running`, runs its agent, appends its events, and ends the
 * attempt through the job domain's `endJob` with exactly one terminal event (a cancel: `cancelled` with the usage so
 * far; a graceful shutdown: handed back to the queue as the next attempt). The parts: deliveries.ts,
 * attempt-start.ts, attempt-loop.ts (heartbeat, rollback), agent-pass.ts (outputs, limits), questions.ts,
 * attempt-ending.ts (platform appends, hand-back), retrying-event-log.ts.
 */
import type { EventLog } from '@jobstream/event-log';
import type { QueuedJob } from '@jobstream/job-queue';
import { jsonBytes, silentLogger, type JobLogAccount } from '@jobstream/job-domain';
import type { JobStore } from '@jobstream/job-store';
import type { AgentRegistry } from '../agent.js';
import { AttemptEnding } from './attempt-ending.js';
import { AttemptLoop } from './attempt-loop.js';
import { startAttempt } from './attempt-start.js';
import type { RunnerCore } from './core.js';
import { Deliveries } from './deliveries.js';
import type { JobRunnerOptions } from './options.js';
import { retryingEventLog } from './retrying-event-log.js';
import { inJobSpan } from './tracing.js';

export type { JobRunnerOptions } from './options.js';

export class JobRunner {
  private readonly deliveries: Deliveries;

  constructor(store: JobStore, log: EventLog, agents: AgentRegistry, opts: JobRunnerOptions) {
    const logger = opts.logger ?? silentLogger;
    const accounts = new Map<string, JobLogAccount>();
    const retrying = retryingEventLog(log, {
      retryMs: opts.appendRetryMs ?? 30_000,
      logger,
      onStored: (jobId, stored) =>
        accounts.get(jobId)?.add(stored.json !== undefined ? Buffer.byteLength(stored.json) : jsonBytes(stored.event)),
    });
    const ending = new AttemptEnding(store, retrying, logger, opts.metrics);
    const core: RunnerCore = { store, log: retrying, agents, opts, logger, ending };
    const loop = new AttemptLoop(core, accounts);
    this.deliveries = new Deliveries(logger, (q, state) => startAttempt(core, loop, q, state));
  }

  /** Jobs running in this process now. */
  runningJobs(): string[] {
    return this.deliveries.runningJobs();
  }

  /** Aborts the job if it runs here; true when it did. */
  cancel(jobId: string, reason: string): boolean {
    return this.deliveries.cancel(jobId, reason);
  }

  /** Stops the job if it runs here, to give it back to the queue (no terminal event). True when it did. */
  handBack(jobId: string): boolean {
    return this.deliveries.handBack(jobId);
  }

  /** Hands back every job running here; returns their ids. */
  handBackAll(): string[] {
    return this.runningJobs().filter((id) => this.handBack(id));
  }

  /** One delivery of a job = one attempt run here, traced as `job.run` under the trace that dispatched it. */
  handle(q: QueuedJob): Promise<void> {
    return inJobSpan(q, () => this.deliveries.handle(q));
  }
}
