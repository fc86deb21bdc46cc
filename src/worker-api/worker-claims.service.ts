/**
 * `POST /v1/worker/claim`: announces the worker's agents and leases it at most one job.
 *
 * A job is taken with `JobQueue.claim` (no broker consumer per waiting worker) and started under the same rules as
 * the TypeScript runner's start: a job found `running` was held by a worker that vanished, so it starts as the next
 * attempt (its `attempt` event, reason `worker_lost`) or ends `worker_lost` once MAX_ATTEMPTS are spent; a job
 * answered after a question continues its attempt with that attempt's events as `history`. Then the job is
 * `running`, `status: running` is appended (the runner's dedup ids), the lease is stored, and only then is the queue
 * message acked: a process that dies half-way leaves the message to be delivered again, and that delivery finds
 * the job `running` without a live lease — a lost worker, handled as above. A delivery of a job whose lease is
 * live (an ack lost in a broker failover) is acked and skipped.
 */
import { randomBytes } from 'node:crypto';
import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { isTerminalStatus, type JobEvent } from '@jobstream/contracts';
import { JobLogClosedError, StaleAttemptError, type EventLog } from '@jobstream/event-log';
import type { AgentCatalog, AgentDefinition, JobQueue, QueuedJob } from '@jobstream/job-queue';
import type { JobRecord, JobStore } from '@jobstream/job-store';
import { ApiError } from '../common/api-error.js';
import { AppConfig } from '../config/config.js';
import { AGENT_CATALOG, EVENT_LOG, JOB_QUEUE, JOB_STORE } from '../engine/engine.constants.js';
import type { LeaseStore } from './leases/lease-store.port.js';
import { appendRetrying } from './lease-log.js';
import {
  AgentDefinitionError,
  agentSchemas,
  attemptDedupId,
  attemptHistory,
  continuedRequest,
  endDedupId,
  endJob,
  historyExpiredError,
  runningDedupId,
  settleFromLog,
  workerLostError,
  type TerminalJobEvent,
} from './runner-parts.js';
import type { ClaimBody, LeaseGrant } from './worker-api.dto.js';
import { WORKER_LEASES } from './worker-api.constants.js';
import { WorkerApiMetrics } from './worker-api.metrics.js';

@Injectable()
export class WorkerClaimsService {
  private readonly logger = new Logger('WorkerApi');

  constructor(
    @Inject(JOB_STORE) private readonly store: JobStore,
    @Inject(EVENT_LOG) private readonly log: EventLog,
    @Inject(JOB_QUEUE) private readonly queue: JobQueue,
    @Inject(AGENT_CATALOG) private readonly catalog: AgentCatalog,
    @Inject(WORKER_LEASES) private readonly leases: LeaseStore,
    private readonly config: AppConfig,
    @Optional() private readonly metrics?: WorkerApiMetrics,
  ) {}

  private get leaseMs(): number {
    return this.config.workerApi.leaseMs;
  }

  /** Announces, then waits up to `wait_s` for one job of those agents; null = none came (204). */
  async claim(body: ClaimBody, signal: AbortSignal): Promise<LeaseGrant | null> {
    const defs = body.agents.map((a, i): AgentDefinition => {
      const def = { name: a.name, description: a.description ?? '', input_schema: a.input_schema };
      try {
        agentSchemas.check(def);
      } catch (err) {
        if (err instanceof AgentDefinitionError) {
          this.metrics?.claim('refused');
          throw ApiError.invalid(`agents[${i}]: ${err.message}`);
        }
        throw err;
      }
      return def;
    });
    const names = [...new Set(defs.map((d) => d.name))];
    // the worker counts as live for these agents for one lease length (its next claim or heartbeat renews it)
    await this.catalog.announce(body.worker_id, defs, this.leaseMs);
    const deadline = Date.now() + Math.round((body.wait_s ?? 0) * 1000);
    for (;;) {
      const q = await this.queue.claim(names, { waitMs: Math.max(0, deadline - Date.now()), signal });
      if (!q) break;
      if (signal.aborted) {
        await q.release(); // the worker went away (or this process stops): the job goes to the next claim
        break;
      }
      let grant: LeaseGrant | null;
      try {
        grant = await this.start(q, body.worker_id);
      } catch (err) {
        await q.release().catch(() => {}); // delivered again: whatever was done is repeated idempotently
        throw err;
      }
      if (grant) {
        this.metrics?.claim('leased');
        this.logger.log({
          msg: 'job leased to an HTTP worker',
          job_id: grant.job_id,
          attempt: grant.attempt,
          agent: grant.agent,
          worker_id: body.worker_id,
          lease_id: grant.lease_id,
        });
        return grant;
      }
      if (Date.now() >= deadline || signal.aborted) break;
    }
    this.metrics?.claim('empty');
    return null;
  }

  /** Starts a delivered job under a new lease (see the header); null when it must not run (acked). */
  private async start(q: QueuedJob, workerId: string): Promise<LeaseGrant | null> {
    const jobId = q.jobId;
    const rec = await this.store.get(jobId);
    if (!rec || isTerminalStatus(rec.status) || rec.status === 'waiting_for_input') {
      await q.ack();
      return null;
    }
    let attempt = Math.max(1, rec.attempt);
    if (rec.status === 'running') {
      const current = await this.leases.currentOf(jobId);
      if (current?.state === 'active' && current.attempt === attempt && current.expires_at > Date.now()) {
        await q.ack(); // a second delivery of a job leased now
        return null;
      }
      // its previous holder vanished
      if (attempt >= this.config.maxAttempts) {
        await this.endAttempt(jobId, attempt, workerLostError(attempt, rec.usage));
        await q.ack();
        return null;
      }
      attempt += 1;
      if (
        !(await this.platformAppend(
          jobId,
          attempt,
          { type: 'attempt', attempt, reason: 'worker_lost' },
          attemptDedupId(jobId, attempt),
        ))
      ) {
        await q.ack();
        return null;
      }
    }
    const answered = continuedRequest(rec, attempt);
    const now = new Date().toISOString();
    const tr = await this.store.transition(jobId, 'running', {
      from: ['queued', 'running'],
      patch: { attempt, heartbeat_at: now, dispatched_at: rec.dispatched_at ?? now },
    });
    if (!tr.changed || !tr.job) {
      await q.ack(); // cancelled or ended meanwhile
      return null;
    }
    const after = rec.status === 'queued' && q.lastEvent?.attempt === attempt ? q.lastEvent : undefined;
    const runningDedup = runningDedupId(jobId, attempt, answered?.request_id);
    if (!(await this.platformAppend(jobId, attempt, { type: 'status', status: 'running' }, runningDedup, after))) {
      await q.ack();
      return null;
    }
    const job = tr.job;
    if (job.cancel_reason !== null) {
      // cancelled while it was being started: no worker is bothered with it
      await this.endAttempt(jobId, attempt, { type: 'cancelled', reason: job.cancel_reason, usage: job.usage });
      await q.ack();
      return null;
    }
    let history: JobEvent[] = [];
    if (answered) {
      history = await attemptHistory(this.log, jobId, attempt);
      if (history.length === 0) {
        await this.endAttempt(jobId, attempt, historyExpiredError(job.usage));
        await q.ack();
        return null;
      }
    }
    const grant = await this.lease(job, attempt, workerId, history, answered !== null);
    await q.ack();
    return grant;
  }

  private async lease(
    job: JobRecord,
    attempt: number,
    workerId: string,
    history: JobEvent[],
    resumed: boolean,
  ): Promise<LeaseGrant> {
    const expires = Date.now() + this.leaseMs;
    const leaseId = `lease_${randomBytes(18).toString('base64url')}`;
    await this.leases.create({
      lease_id: leaseId,
      job_id: job.id,
      tenant: job.tenant,
      agent: job.agent,
      worker_id: workerId,
      attempt,
      last_seq: -1,
      expires_at: expires,
      state: 'active',
    });
    return {
      lease_id: leaseId,
      job_id: job.id,
      attempt,
      agent: job.agent,
      input: job.input,
      history,
      lease_expires_at: new Date(expires).toISOString(),
      ...(resumed ? { usage: { ...job.usage } } : {}),
    };
  }

  /** Ends this attempt through the job-ending module (scope 'attempt'); a superseded attempt writes nothing. */
  private async endAttempt(
    jobId: string,
    attempt: number,
    event: Parameters<typeof endJob>[1]['event'],
  ): Promise<void> {
    try {
      await endJob(
        { store: this.store, log: this.log, append: (id, input) => appendRetrying(this.log, id, input) },
        { jobId, attempt, event, dedupId: endDedupId(jobId, attempt), scope: 'attempt' },
      );
    } catch (err) {
      if (!(err instanceof StaleAttemptError)) throw err;
    }
  }

  /** A platform event of the start; false when the job ended meanwhile (the store follows the log) or moved on. */
  private async platformAppend(
    jobId: string,
    attempt: number,
    event: Parameters<EventLog['append']>[1]['event'],
    dedupId: string,
    lastEvent?: QueuedJob['lastEvent'],
  ): Promise<boolean> {
    try {
      await appendRetrying(this.log, jobId, { event, attempt, dedupId, ...(lastEvent ? { lastEvent } : {}) });
      return true;
    } catch (err) {
      if (err instanceof JobLogClosedError) {
        await settleFromLog({ store: this.store }, jobId, err.terminal.event as TerminalJobEvent);
        return false;
      }
      if (err instanceof StaleAttemptError) return false; // a newer attempt runs elsewhere
      throw err;
    }
  }
}
