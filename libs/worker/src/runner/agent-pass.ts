/**
 * Runs a job's agent and appends what it yields (through output-pipe.ts, which merges the texts that arrive while
 * an append is in flight): each output through the size caps (a long text goes as several
 * events; an event over MAX_EVENT_BYTES ends the job), the job's byte budget and the tenant's quota, and the
 * event-count cap. A malformed event is refused by the log, logged, and never reaches clients. A question stops the
 * agent (its iterator is closed) and parks the job — or, answered meanwhile, starts the agent again with the
 * answer in its history (one "round" per answer).
 */
import {
  InvalidEventError,
  isTerminalEvent,
  type AgentEvent,
  type JobEvent,
  type TerminalAgentEvent,
  type Usage,
} from '@jobstream/contracts';
import {
  EventLogFullError,
  EventLogUnavailableError,
  JobLogClosedError,
  LogRollbackError,
  StaleAttemptError,
  type LoggedEvent,
} from '@jobstream/event-log';
import {
  DEFAULT_MAX_EVENT_BYTES,
  agentOutputDedupId,
  attemptHistory,
  capEvent,
  eventBytes,
  eventLogFullError,
  eventTooLarge,
  historyExpiredError,
  mergedOutputDedupId,
  outputPieceDedupId,
  tooManyEventsError,
  type JobLogAccount,
  type TerminalJobEvent,
} from '@jobstream/job-domain';
import type { JobRecord } from '@jobstream/job-store';
import type { Agent, AgentContext, AgentOutput } from '../agent.js';
import { errorMessage, type RunnerCore } from './core.js';
import type { Running } from './deliveries.js';
import { pipeOutputs, type PipeStep } from './output-pipe.js';
import { park, prepareRequest } from './questions.js';

/** How an agent's run ended for the runner. */
export interface PassResult {
  /** The terminal event already in the log (appended here, or by someone else). */
  ended: TerminalJobEvent | null;
  /** A terminal event the runner still has to append. */
  pending: TerminalAgentEvent | null;
  /** The job now waits for an answer (this runner let go of it). */
  parked: boolean;
}

/** What one output did: go on, skip to the next output, or stop the agent (a question: park). */
type Step = PipeStep;

export class AgentPass implements PassResult {
  ended: TerminalJobEvent | null = null;
  pending: TerminalAgentEvent | null = null;
  parked = false;
  private readonly jobId: string;
  private readonly history: JobEvent[] = [];
  private asked: JobEvent<'input_required'> | null = null;

  constructor(
    private readonly core: RunnerCore,
    private readonly job: JobRecord,
    private readonly attempt: number,
    private readonly state: Running,
    private readonly resume: boolean,
    private readonly account: JobLogAccount,
    /** The attempt's usage; the agent keeps it current. */
    readonly usage: Usage,
  ) {
    this.jobId = job.id;
  }

  /** Runs the agent to the job's end, a question, or an abort; log outages and stale attempts are thrown. */
  async run(): Promise<PassResult> {
    try {
      const agent = this.core.agents.get(this.job.agent);
      if (!agent) {
        this.pending = {
          type: 'error',
          code: 'unknown_agent',
          message: `no worker can run agent "${this.job.agent}"`,
          retryable: false,
          usage: this.usage,
        };
      } else if (!this.state.abort.signal.aborted) {
        await this.rounds(agent);
      }
    } catch (err) {
      // The log stayed unavailable past the retry window: leave the job to the queue's redelivery. Or a newer
      // attempt superseded this one, or the log lost this attempt's events (the caller handles both).
      if (
        err instanceof EventLogUnavailableError ||
        err instanceof StaleAttemptError ||
        err instanceof LogRollbackError
      )
        throw err;
      if (!this.state.abort.signal.aborted && !this.ended) {
        this.core.logger.error({
          msg: 'agent failed',
          job_id: this.jobId,
          agent: this.job.agent,
          error: errorMessage(err),
        });
        this.pending = this.failure('agent_crashed', errorMessage(err));
      }
    }
    return { ended: this.ended, pending: this.pending, parked: this.parked };
  }

  private failure(code: string, message: string): TerminalAgentEvent {
    return { type: 'error', code, message, retryable: false, usage: { ...this.usage } };
  }

  private async rounds(agent: Agent): Promise<void> {
    const input = agent.parseInput ? agent.parseInput(this.job.input) : this.job.input;
    if (this.resume) this.history.push(...(await attemptHistory(this.core.log, this.jobId, this.attempt)));
    const turn = (await this.core.opts.turnContext?.(this.job)) ?? {};
    if (this.resume && this.history.length === 0) {
      this.pending = historyExpiredError(this.usage);
    }
    // One pass per answer received while this runner still held the job.
    for (let round = this.history.filter((e) => e.type === 'input_received').length; !this.pending; round++) {
      const ctx: AgentContext = {
        jobId: this.jobId,
        attempt: this.attempt,
        input,
        signal: this.state.abort.signal,
        usage: this.usage,
        history: this.history.slice(),
        ...turn,
      };
      this.asked = null;
      // 'asked' closes the iterator: the agent continues from the log
      await pipeOutputs(
        agent.run(ctx),
        (w) =>
          this.output(
            w.out,
            mergedOutputDedupId(agentOutputDedupId(this.jobId, this.attempt, round, w.first), w.count),
          ),
        {
          coalesce: this.core.opts.coalesceText ?? true,
          maxEventBytes: this.core.opts.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES,
          fits: (bytes) => this.account.fits(bytes),
          signal: () => this.state.abort.signal,
        },
      );
      if (!this.asked || this.ended || this.pending || this.state.abort.signal.aborted) return;
      const next = await park(this.core, this.jobId, this.attempt, this.asked, this.usage, this.state, this.history);
      if (next === 'parked') {
        this.parked = true;
        return;
      }
      if (next !== 'continue') {
        this.ended = next;
        return;
      }
    }
  }

  /** One output of the agent: completed (a question), capped, appended, and checked against the limits. */
  private async output(out: AgentOutput, outputId: string): Promise<Step> {
    let ev: AgentEvent;
    if (out.type === 'input_required') {
      const req = await prepareRequest(this.core, this.job, this.attempt, out, this.history, this.usage, outputId);
      if ('terminal' in req) {
        if (req.terminal.kind === 'pending') this.pending = req.terminal.event;
        else this.ended = req.terminal.event;
        return 'stop';
      }
      ev = req.event;
    } else if ((out as { type: string }).type === 'input_received') {
      this.core.logger.error({
        msg: 'agent emitted input_received (the platform appends answers); dropped',
        job_id: this.jobId,
        agent: this.job.agent,
      });
      return 'next';
    } else {
      ev = out;
    }
    const stored = await this.appendCapped(ev, outputId);
    if (stored === 'stop' || stored === 'next') return stored;
    return this.afterStored(stored);
  }

  /** Appends the event, split by the size caps; the last piece stored, or what to do instead. */
  private async appendCapped(ev: AgentEvent, outputId: string): Promise<LoggedEvent | 'next' | 'stop'> {
    const { core, jobId, attempt, account, usage } = this;
    const maxEventBytes = core.opts.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES;
    const capped = capEvent(ev, maxEventBytes);
    if (!capped.ok) {
      core.opts.metrics?.jobLimited?.('event_too_large');
      this.pending = eventTooLarge(ev.type, capped.bytes, maxEventBytes, usage);
      return 'stop';
    }
    let stored: LoggedEvent | null = null;
    for (const [k, piece] of capped.events.entries()) {
      if (!isTerminalEvent(piece) && !account.fits(eventBytes(piece))) {
        core.logger.warn({ msg: 'job reached MAX_JOB_BYTES; ended', job_id: jobId, bytes: account.bytes });
        core.opts.metrics?.jobLimited?.('too_many_bytes');
        this.pending = account.tooManyBytes(usage);
        return 'stop';
      }
      try {
        stored = await core.log.append(jobId, { event: piece, attempt, dedupId: outputPieceDedupId(outputId, k) });
      } catch (err) {
        if (err instanceof InvalidEventError) {
          core.logger.error({
            msg: 'agent emitted an invalid event; dropped',
            job_id: jobId,
            agent: this.job.agent,
            error: err.message,
          });
          return 'next';
        }
        if (err instanceof JobLogClosedError) {
          this.ended = err.terminal.event as TerminalJobEvent;
          this.state.abort.abort(new Error('job ended elsewhere'));
          return 'stop';
        }
        if (err instanceof EventLogFullError) {
          core.opts.metrics?.jobLimited?.('event_log_full');
          this.pending = eventLogFullError(usage);
          return 'stop';
        }
        throw err;
      }
      if (k < capped.events.length - 1) this.history.push(stored.event);
    }
    return stored ?? 'next';
  }

  /** After an output was stored: the tenant's quota, the job's end, the event-count cap, a question. */
  private async afterStored(stored: LoggedEvent): Promise<Step> {
    const { core, jobId, usage } = this;
    if (!isTerminalEvent(stored.event) && (await this.account.overQuota())) {
      core.logger.warn({ msg: "job passed its tenant's log-bytes quota; ended", job_id: jobId });
      core.opts.metrics?.jobLimited?.('quota_exceeded');
      this.pending = this.account.quotaExceeded(usage);
      this.history.push(stored.event);
      return 'stop';
    }
    this.history.push(stored.event);
    if (isTerminalEvent(stored.event)) {
      this.ended = stored.event as TerminalJobEvent;
      return 'stop';
    }
    // a runaway job: leave room for its terminal event and end it
    const cap = core.opts.maxEventsPerJob;
    if (cap !== undefined && stored.event.seq >= cap - 1) {
      core.logger.warn({
        msg: 'job reached MAX_EVENTS_PER_JOB; ended',
        job_id: jobId,
        agent: this.job.agent,
        max_events: cap,
      });
      this.pending = tooManyEventsError(cap, this.usage);
      return 'stop';
    }
    if (stored.event.type === 'input_required') {
      this.asked = stored.event as JobEvent<'input_required'>;
      return 'asked';
    }
    return 'next';
  }
}
