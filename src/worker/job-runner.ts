/**
 * Runs one job: takes it from the queue, moves it to `running`, runs its agent and appends the agent's events to
 * the log, then ends it with exactly one terminal event and the matching terminal status.
 *
 * - The event log is the arbiter of the end: it accepts one terminal event per job. Whoever appends it (this
 *   runner, a cancel of a queued job, the watchdog) then writes the terminal status to the store.
 * - A redelivered job that was `running` means its previous holder vanished: the next attempt starts with an
 *   `attempt` event (clients discard the earlier attempt's output), or the job fails with `worker_lost` once
 *   MAX_ATTEMPTS are spent.
 * - Cancel aborts the agent (AbortSignal) and ends the job with `cancelled` carrying the usage produced so far.
 * - A malformed event from an agent is refused by the log, logged, and never reaches clients.
 */
import { Logger } from '@nestjs/common';
import {
  AGENT_INPUT_SCHEMAS,
  InvalidEventError,
  isTerminalEvent,
  isTerminalStatus,
  type AgentEvent,
  type JobEvent,
  type JobStatus,
  type TerminalAgentEvent,
  type Usage,
} from '../../libs/contracts/src/index.js';
import {
  EventLogUnavailableError,
  JobLogClosedError,
  type AppendInput,
  type EventLog,
  type LoggedEvent,
} from '../../libs/event-log/src/index.js';
import type { QueuedJob } from '../../libs/job-queue/src/index.js';
import type { JobRecord, JobStore } from '../../libs/job-store/src/index.js';
import type { AgentContext, AgentRegistry } from './agents/agent.js';

export interface JobRunnerOptions {
  maxAttempts: number;
  /** How often a running job tells the queue it is still being worked on. */
  workingIntervalMs: number;
  /** How long an append is retried while the event log is unavailable (then the run fails and is redelivered). */
  appendRetryMs: number;
}

export function statusOfTerminal(e: { type: 'done' | 'error' | 'cancelled' }): JobStatus {
  return e.type === 'done' ? 'completed' : e.type === 'error' ? 'failed' : 'cancelled';
}

type TerminalJobEvent = JobEvent<'done' | 'error' | 'cancelled'>;

/** The store fields a terminal event settles (finished_at is the event's own time, so log and store agree). */
export function terminalPatch(e: TerminalJobEvent) {
  return {
    usage: e.usage,
    error: e.type === 'error' ? { code: e.code, message: e.message } : null,
    finished_at: e.ts,
  };
}

interface Running {
  abort: AbortController;
  cancelReason: string | null;
}

export class JobRunner {
  private readonly logger = new Logger('JobRunner');
  private readonly running = new Map<string, Running>();

  constructor(
    private readonly store: JobStore,
    private readonly log: EventLog,
    private readonly agents: AgentRegistry,
    private readonly opts: JobRunnerOptions,
  ) {}

  /** Jobs running in this process now. */
  runningJobs(): string[] {
    return [...this.running.keys()];
  }

  /** Aborts the job if it runs here; true when it did. */
  cancel(jobId: string, reason: string): boolean {
    const r = this.running.get(jobId);
    if (!r) return false;
    r.cancelReason ??= reason;
    r.abort.abort(new Error(`cancelled: ${reason}`));
    return true;
  }

  async handle(q: QueuedJob): Promise<void> {
    const jobId = q.jobId;
    // Registered before anything else, so a cancel that arrives while the job is being started is not missed.
    const state: Running = { abort: new AbortController(), cancelReason: null };
    this.running.set(jobId, state);
    try {
      await this.start(q, state);
    } finally {
      if (this.running.get(jobId) === state) this.running.delete(jobId);
    }
  }

  private async start(q: QueuedJob, state: Running): Promise<void> {
    const jobId = q.jobId;
    const rec = await this.store.get(jobId);
    if (!rec || isTerminalStatus(rec.status)) {
      await q.ack();
      return;
    }
    let attempt = Math.max(1, rec.attempt);
    if (rec.status === 'running' || rec.status === 'waiting_for_input') {
      // The previous holder of this job vanished mid-run.
      const spent = attempt;
      if (spent >= this.opts.maxAttempts) {
        await this.end(rec, spent, {
          type: 'error',
          code: 'worker_lost',
          message: `the worker running this job was lost ${spent} time(s); no attempts left`,
          retryable: false,
          usage: rec.usage,
        });
        await q.ack();
        return;
      }
      attempt = spent + 1;
      const ok = await this.append(jobId, attempt, { type: 'attempt', attempt, reason: 'worker_lost' }, `${jobId}:${attempt}:a`);
      if (!ok) {
        await q.ack();
        return;
      }
    }
    const tr = await this.store.transition(jobId, 'running', {
      from: ['queued', 'running', 'waiting_for_input'],
      patch: { attempt },
    });
    if (!tr.changed || !tr.job) {
      await q.ack(); // cancelled (or ended) meanwhile
      return;
    }
    if (!(await this.append(jobId, attempt, { type: 'status', status: 'running' }, `${jobId}:${attempt}:s`))) {
      await q.ack();
      return;
    }
    if (tr.job.cancel_reason !== null) {
      state.cancelReason ??= tr.job.cancel_reason;
      state.abort.abort(new Error('cancelled before start'));
    }
    await this.run(tr.job, attempt, q, state);
    await q.ack();
  }

  private async run(job: JobRecord, attempt: number, q: QueuedJob, state: Running): Promise<void> {
    const jobId = job.id;
    const usage: Usage = { input_tokens: 0, output_tokens: 0 };
    const keepalive = setInterval(() => q.working(), this.opts.workingIntervalMs);
    keepalive.unref();

    /** The terminal event already in the log (appended by the agent loop, or by someone else), if any. */
    let ended: TerminalJobEvent | null = null;
    /** A terminal event this runner still has to append. */
    let pending: TerminalAgentEvent | null = null;
    try {
      const agent = this.agents.get(job.agent);
      const schema = AGENT_INPUT_SCHEMAS[job.agent];
      if (!agent || !schema) {
        pending = { type: 'error', code: 'unknown_agent', message: `no worker can run agent "${job.agent}"`, retryable: false, usage };
      } else if (!state.abort.signal.aborted) {
        const input = schema.parse(job.input) as Record<string, unknown>;
        const ctx: AgentContext = { jobId, attempt, input, signal: state.abort.signal, usage };
        let n = 0;
        for await (const ev of agent.run(ctx)) {
          if (state.abort.signal.aborted) break;
          n++;
          let stored: LoggedEvent;
          try {
            stored = await this.appendDurably(jobId, { event: ev, attempt, dedupId: `${jobId}:${attempt}:${n}` });
          } catch (err) {
            if (err instanceof InvalidEventError) {
              this.logger.error({ msg: 'agent emitted an invalid event; dropped', job_id: jobId, agent: job.agent, error: err.message });
              continue;
            }
            if (err instanceof JobLogClosedError) {
              ended = err.terminal.event as TerminalJobEvent;
              state.abort.abort(new Error('job ended elsewhere'));
              break;
            }
            throw err;
          }
          if (isTerminalEvent(stored.event)) {
            ended = stored.event;
            break;
          }
        }
      }
    } catch (err) {
      // The log stayed unavailable past the retry window: leave the job to the queue's redelivery.
      if (err instanceof EventLogUnavailableError) throw err;
      if (!state.abort.signal.aborted && !ended) {
        this.logger.error({ msg: 'agent failed', job_id: jobId, agent: job.agent, error: errorMessage(err) });
        pending = { type: 'error', code: 'agent_crashed', message: errorMessage(err), retryable: false, usage: { ...usage } };
      }
    } finally {
      clearInterval(keepalive);
    }

    if (ended) {
      await this.settle(jobId, ended);
      return;
    }
    const final: TerminalAgentEvent =
      pending ??
      (state.abort.signal.aborted
        ? { type: 'cancelled', reason: state.cancelReason ?? '', usage: { ...usage } }
        : { type: 'error', code: 'agent_incomplete', message: 'the agent ended without a terminal event', retryable: false, usage: { ...usage } });
    await this.end(job, attempt, final);
  }

  /** Appends a terminal event (unless the log already holds one) and settles the store. */
  private async end(job: JobRecord, attempt: number, ev: TerminalAgentEvent): Promise<void> {
    let stored: LoggedEvent;
    try {
      stored = await this.appendDurably(job.id, { event: ev, attempt, dedupId: `${job.id}:${attempt}:end` });
    } catch (err) {
      if (err instanceof JobLogClosedError) {
        await this.settle(job.id, err.terminal.event as TerminalJobEvent);
        return;
      }
      throw err;
    }
    await this.settle(job.id, stored.event as TerminalJobEvent);
  }

  private async settle(jobId: string, ev: TerminalJobEvent): Promise<void> {
    await this.store.transition(jobId, statusOfTerminal(ev), { patch: terminalPatch(ev) });
  }

  /**
   * Appends, riding out an unavailable log (a NATS reconnect, a JetStream leader election): retried with the same
   * dedup id — so an append that was stored but whose ack was lost is not stored twice — for up to
   * `appendRetryMs`, while the agent waits (the async iterator is not pulled meanwhile).
   */
  private async appendDurably(jobId: string, input: AppendInput): Promise<LoggedEvent> {
    const deadline = Date.now() + this.opts.appendRetryMs;
    for (let delay = 100; ; delay = Math.min(delay * 2, 2_000)) {
      try {
        return await this.log.append(jobId, input);
      } catch (err) {
        if (!(err instanceof EventLogUnavailableError) || Date.now() + delay > deadline) throw err;
        this.logger.warn({ msg: 'event log unavailable; retrying append', job_id: jobId, retry_in_ms: delay });
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  /** Appends a platform event; false when the job already ended (the store is settled from the log). */
  private async append(jobId: string, attempt: number, event: AgentEvent, dedupId: string): Promise<boolean> {
    try {
      await this.appendDurably(jobId, { event, attempt, dedupId });
      return true;
    } catch (err) {
      if (err instanceof JobLogClosedError) {
        await this.settle(jobId, err.terminal.event as TerminalJobEvent);
        return false;
      }
      throw err;
    }
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
