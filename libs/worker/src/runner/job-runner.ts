/**
 * Runs jobs: takes a job from the queue, moves it to `running`, runs its agent and appends the agent's events to
 * the log, then ends it with exactly one terminal event and the matching terminal status. The event log is the
 * arbiter of the end: it accepts one terminal event per job, and the runner ends its attempt through the job
 * domain's `endJob` (scope 'attempt'), the module the API's cancel and the watchdog use too.
 *
 * The parts: delivery bookkeeping (deliveries.ts), the start of an attempt (attempt-start.ts), the attempt loop
 * with heartbeat and rollback (attempt-loop.ts), the agent's outputs and the limits (agent-pass.ts), questions and
 * input parking (questions.ts), the platform's own appends and the hand-back (attempt-ending.ts), and appends that
 * ride out log outages (retrying-event-log.ts).
 *
 * - Cancel aborts the agent (AbortSignal) and ends the job with `cancelled` carrying the usage produced so far.
 * - **Hand-back** (graceful shutdown): aborts the agent WITHOUT a terminal event; the job goes back to the queue as
 *   its next attempt (reason `worker_shutdown`), so another worker starts it at once. A cancel meanwhile wins.
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
