/**
 * Runs one job: takes it from the queue, moves it to `running`, runs its agent and appends the agent's events to
 * the log, then ends it with exactly one terminal event and the matching terminal status.
 *
 * - The event log is the arbiter of the end: it accepts one terminal event per job. The runner ends its attempt
 *   through the job domain's job-ending (scope 'attempt'), the module the API's cancel and the watchdog use too:
 *   the terminal append, the store settled from whichever terminal event the log holds, and a superseded attempt
 *   (`StaleAttemptError`) that writes nothing.
 * - A redelivered job that was `running` means its previous holder vanished: the next attempt starts with an
 *   `attempt` event (clients discard the earlier attempt's output), or the job fails with `worker_lost` once
 *   MAX_ATTEMPTS are spent.
 * - Cancel aborts the agent (AbortSignal) and ends the job with `cancelled` carrying the usage produced so far.
 * - **Heartbeat.** While a job runs, every `workingIntervalMs` the runner tells the queue it still holds the job
 *   (`working()`) and records a sign of life in the store (`heartbeat_at`), which the watchdog reads.
 * - **Hand-back** (graceful shutdown): aborts the agent WITHOUT a terminal event. The runner appends the next
 *   attempt's `attempt` event (reason `worker_shutdown`, so clients discard the unfinished output) and `status:
 *   queued`, moves the job back to `queued` with the new attempt number, and releases the queue message, so
 *   another worker starts it at once. A cancel that arrives meanwhile wins: the job ends `cancelled`.
 * - A malformed event from an agent is refused by the log, logged, and never reaches clients.
 * - **Rollback.** When the log lost events this runner had appended (a broker failover; the log refuses the next
 *   append with {@link LogRollbackError}), the attempt is void: the agent is stopped, the next attempt's `attempt`
 *   event (reason `log_rollback`, numbered after the lost seqs by the log) tells clients to drop what they
 *   assembled, and the agent runs again from the start as that attempt. Never continued over the hole.
 * - **Questions** (v1.1, docs/agents.md): an agent's `input_required` is completed (request id, schema, deadline),
 *   its schema compiled once, recorded on the job record and appended; then the job moves to `waiting_for_input`,
 *   `status: waiting_for_input` is appended, and the runner lets go of it (the queue message is acked: no slot, no
 *   heartbeat). If the answer arrived while the runner still held the job, it goes on at once instead. An answer
 *   given later re-dispatches the job (`queued`); the runner that gets it reads the current attempt's events from
 *   the log and calls the agent again with them as `ctx.history` — same attempt, nothing re-emitted.
 */
import { SpanKind } from '@opentelemetry/api';
import { Traced } from '../tracing/tracing.js';
import { Logger } from '@nestjs/common';
import {
  InvalidEventError,
  START,
  isTerminalEvent,
  isTerminalStatus,
  newJobId,
  type AgentEvent,
  type AgentEventOf,
  type JobEvent,
  type JobStatus,
  type TerminalAgentEvent,
  type Usage,
} from '@jobstream/contracts';
import {
  EventLogFullError,
  EventLogUnavailableError,
  JobLogClosedError,
  LOG_ROLLBACK_REASON,
  LogRollbackError,
  StaleAttemptError,
  type AppendInput,
  type EventLog,
  type LoggedEvent,
} from '@jobstream/event-log';
import type { QueuedJob } from '@jobstream/job-queue';
import type { InputRequestRecord, JobRecord, JobStore } from '@jobstream/job-store';
import { INPUT_LIMITS, InvalidInputSchemaError, inputSchemas, schemaFor } from '@jobstream/job-domain';
import type { AgentContext, AgentInputRequest, AgentRegistry } from './agents/agent.js';
import {
  DEFAULT_MAX_EVENT_BYTES,
  DEFAULT_MAX_JOB_BYTES,
  JobLogAccount,
  agentOutputDedupId,
  attemptDedupId,
  capEvent,
  eventBytes,
  eventTooLarge,
  handBackQueuedDedupId,
  inputReceivedDedupId,
  jsonBytes,
  outputPieceDedupId,
  rollbackDedupId,
  runningDedupId,
  toolCallStartDedupId,
  cancelledDedupId,
  endDedupId,
  endJob,
  settleFromLog,
  statusOfTerminal,
  waitingDedupId,
  type JobEndingDeps,
  type RunnerMetrics,
  type TerminalJobEvent,
} from '@jobstream/job-domain';

export interface JobRunnerOptions {
  maxAttempts: number;
  /** How often a running job tells the queue it is still being worked on. */
  workingIntervalMs: number;
  /** How long an append is retried while the event log is unavailable (then the run fails and is redelivered); 30 s. */
  appendRetryMs?: number;
  /** MAX_EVENTS_PER_JOB: a job reaching this many events ends with `error` `too_many_events` (default: no cap). */
  maxEventsPerJob?: number;
  /** MAX_EVENT_BYTES: one event's JSON at most (caps/event-caps.ts); default 256 KiB. */
  maxEventBytes?: number;
  /** MAX_JOB_BYTES: a job's events together at most (`too_many_bytes`); default 64 MiB. */
  maxJobBytes?: number;
  /** TENANT_LOG_BYTES_QUOTA: a tenant's bytes in the log at most (`quota_exceeded`); 0 or unset = none. */
  tenantLogBytesQuota?: number;
  /** How long a question waits for its answer (INPUT_TIMEOUT_S); default 24 h. */
  inputTimeoutMs?: number;
  metrics?: RunnerMetrics;
  /** v1.1: what else the agent of a job is given (a thread's turn and the conversation so far). */
  turnContext?: (job: JobRecord) => Promise<Pick<AgentContext, 'turn' | 'conversation'>>;
}

/** The terminal event of a job stopped because the event log cannot take more (it never evicts running work). */
function budgetExhausted(usage: Usage): TerminalAgentEvent {
  return {
    type: 'error',
    code: 'event_log_full',
    message:
      'the event log is full (JETSTREAM_MAX_BYTES, or the embedded EMBEDDED_MAX_EVENTS / EMBEDDED_MAX_BYTES); retry later',
    retryable: true,
    usage,
  };
}

interface Running {
  /** Settles when this process is done with the job (every delivery of it is settled then). */
  done: Promise<void>;
  /** Further deliveries of the same job that reached this process while it ran (see `handle`). */
  adopted: QueuedJob[];
  abort: AbortController;
  cancelReason: string | null;
  /** Aborted to be handed back to the queue (shutdown), not cancelled. */
  handBack: boolean;
  /** The job waits for input now: this run is only winding down (a new delivery is a new run, after this one). */
  parked: boolean;
}

/** What happens to the queue message once the runner is done with a job. */
type Outcome = 'ack' | 'release';

export class JobRunner {
  private readonly logger = new Logger('JobRunner');
  private readonly running = new Map<string, Running>();
  /** The log-bytes account of each job running here (every append of the runner is counted in it). */
  private readonly accounts = new Map<string, JobLogAccount>();

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

  /**
   * Stops the job if it runs here, to give it back to the queue (no terminal event; see the header). True when
   * it did.
   */
  handBack(jobId: string): boolean {
    const r = this.running.get(jobId);
    if (!r) return false;
    r.handBack = true;
    r.abort.abort(new Error('handed back: the worker is shutting down'));
    return true;
  }

  /** Hands back every job running here; returns their ids. */
  handBackAll(): string[] {
    return this.runningJobs().filter((id) => this.handBack(id));
  }

  /** One delivery of a job = one attempt run here, traced as `job.run` under the trace that dispatched it. */
  @Traced('job.run', {
    kind: SpanKind.CONSUMER,
    parent: (q: QueuedJob) => q.traceContext,
    attrs: (q: QueuedJob) => ({ 'jobstream.job_id': q.jobId, 'jobstream.deliveries': q.deliveries }),
  })
  async handle(q: QueuedJob): Promise<void> {
    const jobId = q.jobId;
    const current = this.running.get(jobId);
    if (current?.parked) {
      // Answered while this run was still letting go of the job: the new delivery continues it once it has.
      return current.done.then(() => this.handle(q));
    }
    if (current) {
      // The queue gave us again a job this process is running (its in-progress signals were lost, e.g. across a
      // broker restart): keep the run — never a second one at once — and settle this delivery with it.
      this.logger.warn({ msg: 'job delivered again while it runs here; the run goes on', job_id: jobId });
      current.adopted.push(q);
      return current.done;
    }
    // Registered before anything else, so a cancel that arrives while the job is being started is not missed.
    const state: Running = {
      done: Promise.resolve(),
      adopted: [],
      abort: new AbortController(),
      cancelReason: null,
      handBack: false,
      parked: false,
    };
    this.running.set(jobId, state);
    state.done = (async () => {
      const holder = holderOf(q, state);
      try {
        await this.start(holder, state);
      } catch (err) {
        if (!(err instanceof StaleAttemptError)) throw err;
        // A newer attempt of this job runs elsewhere: stop without a word to the log, the store or the queue.
        state.abort.abort(new Error('superseded by a newer attempt'));
        this.logger.warn({
          msg: 'attempt superseded by a newer one elsewhere; stopped',
          job_id: jobId,
          attempt: err.attempt,
          current: err.current,
        });
        holder.abandon();
      } finally {
        if (this.running.get(jobId) === state) this.running.delete(jobId);
      }
    })();
    return state.done;
  }

  private async start(q: QueuedJob, state: Running): Promise<void> {
    const jobId = q.jobId;
    const rec = await this.store.get(jobId);
    if (!rec || isTerminalStatus(rec.status)) {
      await q.ack();
      return;
    }
    if (rec.status === 'waiting_for_input') {
      // It waits for an answer holding no worker; the answer dispatches it again.
      await q.ack();
      return;
    }
    let attempt = Math.max(1, rec.attempt);
    if (rec.status === 'running') {
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
      let ok: boolean;
      try {
        ok = await this.append(
          jobId,
          attempt,
          { type: 'attempt', attempt, reason: 'worker_lost' },
          attemptDedupId(jobId, attempt),
        );
      } catch (err) {
        // the log also lost events this process had appended: the new attempt voids them as well
        if (!(err instanceof LogRollbackError)) throw err;
        ok = await this.append(
          jobId,
          attempt,
          { type: 'attempt', attempt, reason: LOG_ROLLBACK_REASON },
          rollbackDedupId(jobId, attempt),
        );
      }
      if (!ok) {
        await q.ack();
        return;
      }
    }
    // An answered question of this attempt: the job continues (same attempt) from its log.
    const answered =
      rec.status === 'queued' && rec.input_request?.attempt === attempt && rec.input_request.answer !== null
        ? rec.input_request
        : null;
    const tr = await this.store.transition(jobId, 'running', {
      from: ['queued', 'running'],
      // a job that reached a worker was dispatched, whatever its creator managed to confirm
      patch: {
        attempt,
        heartbeat_at: new Date().toISOString(),
        dispatched_at: rec.dispatched_at ?? new Date().toISOString(),
      },
    });
    if (!tr.changed || !tr.job) {
      await q.ack(); // cancelled (or ended) meanwhile
      return;
    }
    this.opts.metrics?.jobTransition('running');
    const runningDedup = runningDedupId(jobId, attempt, answered?.request_id);
    // the dispatcher's `status: queued` (carried by the queue message): the log need not look the job's last event up
    const after = rec.status === 'queued' && q.lastEvent?.attempt === attempt ? q.lastEvent : undefined;
    if (!(await this.append(jobId, attempt, { type: 'status', status: 'running' }, runningDedup, after))) {
      await q.ack();
      return;
    }
    if (tr.job.cancel_reason !== null) {
      state.cancelReason ??= tr.job.cancel_reason;
      state.abort.abort(new Error('cancelled before start'));
    }
    if ((await this.run(tr.job, attempt, q, state, answered !== null)) === 'release') await q.release();
    else await q.ack();
  }

  private async run(job: JobRecord, attempt: number, q: QueuedJob, state: Running, resume: boolean): Promise<Outcome> {
    for (let rollbacks = 0; ; rollbacks++) {
      const started = performance.now();
      try {
        const { outcome, status } = await this.runAgent(job, attempt, q, state, resume);
        this.opts.metrics?.jobRunFinished(job.agent, status, (performance.now() - started) / 1000);
        return outcome;
      } catch (err) {
        if (!(err instanceof LogRollbackError)) throw err;
        const next = await this.voidAttempt(job, attempt, err, state, rollbacks);
        if (next === null) return 'ack';
        attempt = next;
        job = { ...job, attempt: next };
        resume = false; // the new attempt starts from scratch
      }
    }
  }

  /**
   * The log lost events of this attempt: stop the agent, append the next attempt's `attempt` event (reason
   * `log_rollback`), record the attempt in the store, and return it — or null when the job ended meanwhile. Past
   * MAX_ATTEMPTS rollbacks in one run the job ends with a retryable `log_rollback` error instead.
   */
  private async voidAttempt(
    job: JobRecord,
    attempt: number,
    err: LogRollbackError,
    state: Running,
    rollbacks: number,
  ): Promise<number | null> {
    const jobId = job.id;
    state.abort.abort(new Error('attempt void: the log lost its events'));
    const next = attempt + 1;
    this.logger.warn({
      msg: 'the log lost acknowledged events (failover rollback); voiding the attempt',
      job_id: jobId,
      attempt,
      next_attempt: next,
      acknowledged_seq: err.acknowledged,
      found_seq: err.found,
    });
    if (
      !(await this.append(
        jobId,
        next,
        { type: 'attempt', attempt: next, reason: LOG_ROLLBACK_REASON },
        rollbackDedupId(jobId, next),
      ))
    )
      return null;
    const tr = await this.store.transition(jobId, 'running', {
      from: ['running'],
      patch: { attempt: next, heartbeat_at: new Date().toISOString() },
    });
    if (!tr.changed && tr.job && isTerminalStatus(tr.job.status)) return null;
    // a fresh signal for the new run; a cancel that arrived meanwhile still wins
    state.abort = new AbortController();
    if (state.cancelReason !== null) state.abort.abort(new Error(`cancelled: ${state.cancelReason}`));
    else if (state.handBack) state.abort.abort(new Error('handed back: the worker is shutting down'));
    if (rollbacks + 1 >= this.opts.maxAttempts) {
      await this.end(job, next, {
        type: 'error',
        code: 'log_rollback',
        message: `the event log lost this job's events ${rollbacks + 1} time(s) (broker failovers); create the job again`,
        retryable: true,
        usage: { input_tokens: 0, output_tokens: 0 },
      });
      return null;
    }
    return next;
  }

  /**
   * Runs the agent to the job's end, to a question (the job then waits holding no worker), or to a hand-back:
   * what to do with the queue message, and the job's status. The keepalive (in-progress acks + store heartbeat)
   * runs until the very end — through the final append's retry loop and the store's settling — so a long log
   * outage at the end neither lets the queue redeliver the job nor the watchdog end a job that is finishing.
   */
  private async runAgent(
    job: JobRecord,
    attempt: number,
    q: QueuedJob,
    state: Running,
    resume: boolean,
  ): Promise<{ outcome: Outcome; status: JobStatus }> {
    const jobId = job.id;
    const keepalive = setInterval(() => {
      q.working();
      this.store.heartbeat(jobId, new Date()).catch((err: unknown) => {
        // the queue still holds the job; a missed heartbeat only matters if it lasts 2 × the stall timeout
        this.logger.warn({ msg: 'heartbeat failed', job_id: jobId, error: errorMessage(err) });
      });
      if (state.cancelReason === null) this.noticeRecordedCancel(jobId, state);
    }, this.opts.workingIntervalMs);
    keepalive.unref();
    const account = await JobLogAccount.open(
      this.store,
      job,
      { maxJobBytes: this.opts.maxJobBytes ?? DEFAULT_MAX_JOB_BYTES, tenantQuota: this.opts.tenantLogBytesQuota ?? 0 },
      this.logger,
    );
    this.accounts.set(jobId, account);
    try {
      return await this.runAgentAlive(job, attempt, state, resume, account);
    } finally {
      clearInterval(keepalive);
      if (this.accounts.get(jobId) === account) this.accounts.delete(jobId);
      await account.flush();
    }
  }

  /**
   * The cancel message to this worker is one core-NATS message, so it can be lost; the API records the cancel in
   * the store first, and each heartbeat reads it back (one read per `workingIntervalMs`), so the job still ends
   * `cancelled`.
   */
  private noticeRecordedCancel(jobId: string, state: Running): void {
    this.store.get(jobId).then(
      (rec) => {
        const reason = rec?.cancel_reason;
        if (reason == null || state.cancelReason !== null) return;
        this.logger.log({ msg: 'cancel seen in the store (its message did not arrive)', job_id: jobId });
        state.cancelReason = reason;
        state.abort.abort(new Error(`cancelled: ${reason}`));
      },
      () => {
        /* an outage: the heartbeat reports it; the next tick reads again */
      },
    );
  }

  private async runAgentAlive(
    job: JobRecord,
    attempt: number,
    state: Running,
    resume: boolean,
    account: JobLogAccount,
  ): Promise<{ outcome: Outcome; status: JobStatus }> {
    const jobId = job.id;
    const maxEventBytes = this.opts.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES;
    // Continuing after an answer: the usage of the attempt so far was saved when the job parked.
    const usage: Usage = resume ? { ...job.usage } : { input_tokens: 0, output_tokens: 0 };
    /** The terminal event already in the log (appended by the agent loop, or by someone else), if any. */
    let ended: TerminalJobEvent | null = null;
    /** A terminal event this runner still has to append. */
    let pending: TerminalAgentEvent | null = null;
    /** The job now waits for an answer (this runner let go of it). */
    let parked = false;
    try {
      const agent = this.agents.get(job.agent);
      if (!agent) {
        pending = {
          type: 'error',
          code: 'unknown_agent',
          message: `no worker can run agent "${job.agent}"`,
          retryable: false,
          usage,
        };
      } else if (!state.abort.signal.aborted) {
        const input = agent.parseInput ? agent.parseInput(job.input) : job.input;
        const history: JobEvent[] = resume ? await this.loadHistory(jobId, attempt) : [];
        const turn = (await this.opts.turnContext?.(job)) ?? {};
        if (resume && history.length === 0) {
          pending = {
            type: 'error',
            code: 'history_expired',
            message: 'the events of this job are no longer retained (EVENT_RETENTION_S): it cannot continue',
            retryable: false,
            usage: { ...usage },
          };
        }
        // One pass per answer received while this runner still held the job.
        for (let round = history.filter((e) => e.type === 'input_received').length; !pending; round++) {
          const ctx: AgentContext = {
            jobId,
            attempt,
            input,
            signal: state.abort.signal,
            usage,
            history: history.slice(),
            ...turn,
          };
          const dedup = (n: number) => agentOutputDedupId(jobId, attempt, round, n);
          let asked: JobEvent<'input_required'> | null = null;
          let n = 0;
          agentLoop: for await (const out of agent.run(ctx)) {
            if (state.abort.signal.aborted) break;
            n++;
            let ev: AgentEvent;
            if (out.type === 'input_required') {
              const req = await this.prepareRequest(job, attempt, out, history, usage, dedup(n));
              if ('terminal' in req) {
                if (req.terminal.kind === 'pending') pending = req.terminal.event;
                else ended = req.terminal.event;
                break;
              }
              ev = req.event;
            } else if ((out as { type: string }).type === 'input_received') {
              this.logger.error({
                msg: 'agent emitted input_received (the platform appends answers); dropped',
                job_id: jobId,
                agent: job.agent,
              });
              continue;
            } else {
              ev = out;
            }
            // the size caps: a long text goes as several events, a large event ends the job
            const capped = capEvent(ev, maxEventBytes);
            if (!capped.ok) {
              this.opts.metrics?.jobLimited?.('event_too_large');
              pending = eventTooLarge(ev.type, capped.bytes, maxEventBytes, usage);
              break;
            }
            let stored: LoggedEvent | null = null;
            for (const [k, piece] of capped.events.entries()) {
              if (!isTerminalEvent(piece) && !account.fits(eventBytes(piece))) {
                this.logger.warn({ msg: 'job reached MAX_JOB_BYTES; ended', job_id: jobId, bytes: account.bytes });
                this.opts.metrics?.jobLimited?.('too_many_bytes');
                pending = account.tooManyBytes(usage);
                break agentLoop;
              }
              try {
                const id = outputPieceDedupId(dedup(n), k);
                stored = await this.appendDurably(jobId, { event: piece, attempt, dedupId: id });
              } catch (err) {
                if (err instanceof InvalidEventError) {
                  this.logger.error({
                    msg: 'agent emitted an invalid event; dropped',
                    job_id: jobId,
                    agent: job.agent,
                    error: err.message,
                  });
                  continue agentLoop;
                }
                if (err instanceof JobLogClosedError) {
                  ended = err.terminal.event as TerminalJobEvent;
                  state.abort.abort(new Error('job ended elsewhere'));
                  break agentLoop;
                }
                if (err instanceof EventLogFullError) {
                  this.opts.metrics?.jobLimited?.('event_log_full');
                  pending = budgetExhausted({ ...usage });
                  break agentLoop;
                }
                throw err;
              }
              if (k < capped.events.length - 1) history.push(stored.event);
            }
            if (!stored) continue;
            if (!isTerminalEvent(stored.event) && (await account.overQuota())) {
              this.logger.warn({ msg: "job passed its tenant's log-bytes quota; ended", job_id: jobId });
              this.opts.metrics?.jobLimited?.('quota_exceeded');
              pending = account.quotaExceeded(usage);
              history.push(stored.event);
              break;
            }
            history.push(stored.event);
            if (isTerminalEvent(stored.event)) {
              ended = stored.event;
              break;
            }
            // a runaway job: leave room for its terminal event and end it
            const cap = this.opts.maxEventsPerJob;
            if (cap !== undefined && stored.event.seq >= cap - 1) {
              this.logger.warn({
                msg: 'job reached MAX_EVENTS_PER_JOB; ended',
                job_id: jobId,
                agent: job.agent,
                max_events: cap,
              });
              pending = {
                type: 'error',
                code: 'too_many_events',
                message: `the job reached the limit of ${cap} events (MAX_EVENTS_PER_JOB)`,
                retryable: false,
                usage: { ...usage },
              };
              break;
            }
            if (stored.event.type === 'input_required') {
              asked = stored.event as JobEvent<'input_required'>;
              break; // closes the agent's iterator: it continues from the log once answered
            }
          }
          if (!asked || ended || pending || state.abort.signal.aborted) break;
          const next = await this.park(jobId, attempt, asked, usage, state, history);
          if (next === 'parked') {
            parked = true;
            break;
          }
          if (next !== 'continue') {
            ended = next;
            break;
          }
        }
      }
    } catch (err) {
      // The log stayed unavailable past the retry window: leave the job to the queue's redelivery. Or a newer
      // attempt superseded this one (handled in `handle`).
      if (
        err instanceof EventLogUnavailableError ||
        err instanceof StaleAttemptError ||
        err instanceof LogRollbackError
      )
        throw err;
      if (!state.abort.signal.aborted && !ended) {
        this.logger.error({ msg: 'agent failed', job_id: jobId, agent: job.agent, error: errorMessage(err) });
        pending = {
          type: 'error',
          code: 'agent_crashed',
          message: errorMessage(err),
          retryable: false,
          usage: { ...usage },
        };
      }
    }

    if (parked) return { outcome: 'ack', status: 'waiting_for_input' };
    if (ended) {
      await this.settle(jobId, ended);
      return { outcome: 'ack', status: statusOfTerminal(ended) };
    }
    if (!pending && state.abort.signal.aborted && state.handBack && state.cancelReason === null) {
      const outcome = await this.handBackJob(job, attempt);
      return {
        outcome,
        status: outcome === 'release' ? 'queued' : ((await this.store.get(jobId))?.status ?? 'queued'),
      };
    }
    const final: TerminalAgentEvent =
      pending ??
      (state.abort.signal.aborted
        ? { type: 'cancelled', reason: state.cancelReason ?? '', usage: { ...usage } }
        : {
            type: 'error',
            code: 'agent_incomplete',
            message: 'the agent ended without a terminal event',
            retryable: false,
            usage: { ...usage },
          });
    return { outcome: 'ack', status: await this.end(job, attempt, final) };
  }

  /** The events of `attempt` in the job's log, oldest first; empty when the log no longer holds the job's start. */
  private async loadHistory(jobId: string, attempt: number): Promise<JobEvent[]> {
    const out: JobEvent[] = [];
    let after = START;
    let first = true;
    for (;;) {
      const page = await this.log.read(jobId, after, 2000);
      if (page.length === 0) break;
      if (first && page[0]!.event.seq !== 1) return []; // retention removed the beginning
      first = false;
      for (const e of page) if (e.event.attempt === attempt) out.push(e.event);
      const last = page[page.length - 1]!;
      after = { seq: last.event.seq, pos: last.pos };
    }
    return out;
  }

  /**
   * Completes an agent's question into the `input_required` event (request id, kind, schema, deadline), announces
   * tool calls that the agent did not announce, and records the request on the job record — before the event is
   * appended, so that an answer sent the moment a client sees the event finds it. A bad request ends the job.
   */
  private async prepareRequest(
    job: JobRecord,
    attempt: number,
    out: AgentInputRequest | AgentEventOf<'input_required'>,
    history: JobEvent[],
    usage: Usage,
    dedupBase: string,
  ): Promise<
    | { event: AgentEvent }
    | { terminal: { kind: 'pending'; event: TerminalAgentEvent } | { kind: 'ended'; event: TerminalJobEvent } }
  > {
    const jobId = job.id;
    const invalid = (message: string) => ({
      terminal: {
        kind: 'pending' as const,
        event: {
          type: 'error' as const,
          code: 'invalid_input_request',
          message,
          retryable: false,
          usage: { ...usage },
        },
      },
    });
    const calls = out.tool_calls ?? [];
    if (!out.kind) return invalid('an input_required needs a kind (approval, text or tool_results)');
    if (history.filter((e) => e.type === 'input_required').length >= INPUT_LIMITS.requestsPerAttempt) {
      return invalid(`the agent asked more than ${INPUT_LIMITS.requestsPerAttempt} questions in one attempt`);
    }
    if (out.kind === 'tool_results' && calls.length === 0) return invalid('a tool_results request needs tool_calls');
    if (out.kind !== 'tool_results' && calls.length > 0)
      return invalid(`a ${out.kind} request cannot carry tool_calls`);
    if (calls.length > INPUT_LIMITS.toolCalls)
      return invalid(`a request may carry at most ${INPUT_LIMITS.toolCalls} tool calls`);
    if (new Set(calls.map((c) => c.call_id)).size !== calls.length) return invalid('tool_calls repeat a call_id');
    if (out.prompt.length > INPUT_LIMITS.promptChars)
      return invalid(`the prompt is longer than ${INPUT_LIMITS.promptChars} characters`);
    const request_id = out.request_id ?? `req_${newJobId().slice(4)}`;
    if (history.some((e) => e.type === 'input_required' && e.request_id === request_id)) {
      return invalid(`request_id "${request_id}" was already used in this job`);
    }
    const schema = schemaFor(out.kind, out.schema, calls);
    try {
      inputSchemas.compile(schema);
    } catch (err) {
      if (err instanceof InvalidInputSchemaError) return invalid(err.message);
      throw err;
    }
    const expires_at = new Date(Date.now() + (this.opts.inputTimeoutMs ?? 86_400_000)).toISOString();
    // The contract: each requested tool call is announced by its own tool_call_start first.
    for (const [i, c] of calls.entries()) {
      const started = history.some((e) => e.type === 'tool_call_start' && e.call_id === c.call_id);
      if (started) continue;
      try {
        const stored = await this.appendDurably(jobId, {
          event: { type: 'tool_call_start', call_id: c.call_id, name: c.name, arguments: c.arguments },
          attempt,
          dedupId: toolCallStartDedupId(dedupBase, i),
        });
        history.push(stored.event);
      } catch (err) {
        if (err instanceof JobLogClosedError)
          return { terminal: { kind: 'ended', event: err.terminal.event as TerminalJobEvent } };
        if (err instanceof InvalidEventError) return invalid(err.message);
        throw err;
      }
    }
    const record: InputRequestRecord = {
      request_id,
      kind: out.kind,
      prompt: out.prompt,
      schema,
      ...(calls.length > 0 ? { tool_calls: calls } : {}),
      expires_at,
      attempt,
      answer: null,
      answered_at: null,
    };
    const tr = await this.store.transition(jobId, 'running', {
      from: ['running'],
      where: (j) => j.attempt === attempt,
      patch: { input_request: record, usage: { ...usage } },
    });
    if (!tr.changed) {
      // the job ended or moved on meanwhile: end it here (a closed log answers with its terminal event)
      return {
        terminal: {
          kind: 'pending',
          event: { type: 'cancelled', reason: tr.job?.cancel_reason ?? '', usage: { ...usage } },
        },
      };
    }
    const event: AgentEvent = {
      type: 'input_required',
      request_id,
      kind: out.kind,
      prompt: out.prompt,
      schema,
      ...(calls.length > 0 ? { tool_calls: calls } : {}),
      expires_at,
    };
    return { event };
  }

  /**
   * After a question was appended: `status: waiting_for_input`, then the job moves to `waiting_for_input` unless
   * it was answered meanwhile ('continue': the answer is appended and the agent goes on here) or cancelled.
   */
  private async park(
    jobId: string,
    attempt: number,
    asked: JobEvent<'input_required'>,
    usage: Usage,
    state: Running,
    history: JobEvent[],
  ): Promise<'parked' | 'continue' | TerminalJobEvent> {
    const rid = asked.request_id;
    const closed = async (fn: () => Promise<LoggedEvent>): Promise<LoggedEvent | TerminalJobEvent> => {
      try {
        return await fn();
      } catch (err) {
        if (err instanceof JobLogClosedError) return err.terminal.event as TerminalJobEvent;
        throw err;
      }
    };
    // The store first: from the moment a client can see `status: waiting_for_input`, the job IS waiting (a
    // cancel ends it at once; a worker that dies now leaves nothing behind). The status event follows, with a
    // dedup id the API uses too: an answer that comes first appends it itself, so the log keeps its order.
    const open = (j: JobRecord) =>
      j.attempt === attempt && j.input_request?.request_id === rid && j.input_request.answer === null;
    const tr = await this.store.transition(jobId, 'waiting_for_input', {
      from: ['running'],
      where: open,
      patch: { usage: { ...usage }, heartbeat_at: null },
    });
    if (tr.changed && tr.job) {
      state.parked = true;
      this.opts.metrics?.jobTransition('waiting_for_input');
      const w = await closed(() =>
        this.appendDurably(jobId, {
          event: { type: 'status', status: 'waiting_for_input' },
          attempt,
          dedupId: waitingDedupId(jobId, attempt, rid),
        }),
      );
      if (!('pos' in w)) return w;
      if (tr.job.cancel_reason !== null || state.cancelReason !== null) {
        // a cancel that reached the job while it was being parked: nobody else would end it now
        const reason = state.cancelReason ?? tr.job.cancel_reason ?? '';
        return this.endCancelled(jobId, attempt, reason, usage);
      }
      this.logger.log({ msg: 'job waits for input; worker released', job_id: jobId, request_id: rid });
      return 'parked';
    }
    const cur = tr.job;
    const req = cur?.input_request;
    if (cur && cur.status === 'running' && cur.attempt === attempt && req?.request_id === rid && req.answer !== null) {
      // Answered while this runner still held the job: append the answer and go on here.
      const got = await closed(() =>
        this.appendDurably(jobId, {
          event: { type: 'input_received', request_id: rid, input: req.answer! },
          attempt,
          dedupId: inputReceivedDedupId(jobId, rid),
        }),
      );
      if (!('pos' in got)) return got;
      history.push(got.event);
      const s = await closed(() =>
        this.appendDurably(jobId, {
          event: { type: 'status', status: 'running' },
          attempt,
          dedupId: runningDedupId(jobId, attempt, rid),
        }),
      );
      if (!('pos' in s)) return s;
      history.push(s.event);
      return 'continue';
    }
    // Ended or taken over meanwhile: whatever ended it settles from the log; a cancel is ours to append.
    const last = await this.log.last(jobId);
    if (last && isTerminalEvent(last.event)) return last.event as TerminalJobEvent;
    return this.endCancelled(jobId, attempt, cur?.cancel_reason ?? state.cancelReason ?? '', usage);
  }

  /** A cancel that reached a job while it was being parked: ended here (the job-ending module), the log's terminal event returned. */
  private async endCancelled(jobId: string, attempt: number, reason: string, usage: Usage): Promise<TerminalJobEvent> {
    const ended = await endJob(this.ending, {
      jobId,
      attempt,
      event: { type: 'cancelled', reason, usage: { ...usage } },
      dedupId: cancelledDedupId(jobId),
      scope: 'attempt',
    });
    return ended.event;
  }

  /** Gives a stopped job back to the queue as its next attempt (see the header); 'ack' when it ended meanwhile. */
  private async handBackJob(job: JobRecord, attempt: number): Promise<Outcome> {
    const jobId = job.id;
    const next = attempt + 1;
    // Same dedup id as the `attempt` event a next holder appends for a lost worker: whichever comes first counts once.
    if (
      !(await this.append(
        jobId,
        next,
        { type: 'attempt', attempt: next, reason: 'worker_shutdown' },
        attemptDedupId(jobId, next),
      ))
    )
      return 'ack';
    if (!(await this.append(jobId, next, { type: 'status', status: 'queued' }, handBackQueuedDedupId(jobId, next))))
      return 'ack';
    const tr = await this.store.transition(jobId, 'queued', {
      from: ['running'],
      patch: { attempt: next, heartbeat_at: null },
    });
    if (!tr.changed && tr.job && isTerminalStatus(tr.job.status)) return 'ack';
    this.logger.log({ msg: 'job handed back', job_id: jobId, next_attempt: next });
    return 'release';
  }

  /** Ends this attempt of the job: one module does it for everyone (the job domain's job-ending, scope 'attempt'). */
  private async end(job: JobRecord, attempt: number, ev: TerminalAgentEvent): Promise<JobStatus> {
    const ended = await endJob(this.ending, {
      jobId: job.id,
      attempt,
      event: ev,
      dedupId: endDedupId(job.id, attempt),
      scope: 'attempt',
    });
    return ended.status;
  }

  /** The log holds the job's terminal event: the store follows it. */
  private async settle(jobId: string, ev: TerminalJobEvent): Promise<void> {
    await settleFromLog(this.ending, jobId, ev);
  }

  private get ending(): JobEndingDeps {
    return {
      store: this.store,
      log: this.log,
      append: (jobId, input) => this.appendDurably(jobId, input),
      onTransition: (status) => this.opts.metrics?.jobTransition(status),
    };
  }

  /**
   * Appends, riding out an unavailable log (a NATS reconnect, a JetStream leader election): retried with the same
   * dedup id — so an append that was stored but whose ack was lost is not stored twice — for up to
   * `appendRetryMs`, while the agent waits (the async iterator is not pulled meanwhile).
   */
  private async appendDurably(jobId: string, input: AppendInput): Promise<LoggedEvent> {
    const deadline = Date.now() + (this.opts.appendRetryMs ?? 30_000);
    for (let delay = 100; ; delay = Math.min(delay * 2, 2_000)) {
      try {
        const stored = await this.log.append(jobId, input);
        this.accounts
          .get(jobId)
          ?.add(stored.json !== undefined ? Buffer.byteLength(stored.json) : jsonBytes(stored.event));
        return stored;
      } catch (err) {
        if (!(err instanceof EventLogUnavailableError) || Date.now() + delay > deadline) throw err;
        this.logger.warn({ msg: 'event log unavailable; retrying append', job_id: jobId, retry_in_ms: delay });
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  /** Appends a platform event; false when the job already ended (the store is settled from the log). */
  private async append(
    jobId: string,
    attempt: number,
    event: AgentEvent,
    dedupId: string,
    lastEvent?: AppendInput['lastEvent'],
  ): Promise<boolean> {
    try {
      await this.appendDurably(jobId, { event, attempt, dedupId, ...(lastEvent ? { lastEvent } : {}) });
      return true;
    } catch (err) {
      if (err instanceof JobLogClosedError) {
        await this.settle(jobId, err.terminal.event as TerminalJobEvent);
        return false;
      }
      if (err instanceof EventLogFullError) {
        // no room for even a status event: end the job now (a terminal event always fits)
        const rec = await this.store.get(jobId);
        if (rec) await this.end(rec, attempt, budgetExhausted(rec.usage));
        return false;
      }
      throw err;
    }
  }
}

/** One handle over the job's first delivery and any adopted later ones: every call reaches all of them. */
function holderOf(first: QueuedJob, state: Running): QueuedJob {
  const all = () => [first, ...state.adopted];
  return {
    jobId: first.jobId,
    agent: first.agent,
    tenant: first.tenant,
    deliveries: first.deliveries,
    ...(first.lastEvent ? { lastEvent: first.lastEvent } : {}),
    working: () => all().forEach((d) => d.working()),
    ack: async () => {
      await Promise.all(all().map((d) => d.ack()));
    },
    release: async (delayMs?: number) => {
      await Promise.all(all().map((d) => d.release(delayMs)));
    },
    abandon: () => all().forEach((d) => d.abandon()),
  };
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
