/**
 * The conversation use cases behind the REST and NATS APIs: threads, their turns and the `if_busy` policies.
 *
 * Creating a turn: the job is created whole first (record + its `status: queued` event), THEN the thread store's
 * atomic `beginTurn` decides (reject / interrupt / enqueue, idempotency) — so whoever later starts the turn
 * always finds a complete job. A refused turn's job is removed again at once (nobody has seen it).
 */
import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { createHash } from 'node:crypto';
import {
  INTERRUPTED_REASON,
  THREAD_ID_PATTERN,
  isTerminalStatus,
  newJobId,
  newThreadId,
  type CreateThreadRequest,
  type CreateTurnRequest,
  type Job,
  type Thread,
} from '@jobstream/contracts';
import type { EventLog } from '@jobstream/event-log';
import { newJobRecord, type JobRecord, type JobStore } from '@jobstream/job-store';
import { abandonCreate } from '../jobs/create-abandon.js';
import { LogRoom } from '../limits/log-room.js';
import type { ShareStore } from '@jobstream/share-store';
import { newThreadRecord, type ThreadRecord, type ThreadStore } from '@jobstream/thread-store';
import { ApiError } from '../common/api-error.js';
import { AgentCatalogService } from '../agents/agent-catalog.service.js';
import { EVENT_LOG, JOB_QUEUE, JOB_STORE, SHARE_STORE, THREAD_STORE } from '../engine/engine.constants.js';
import type { JobQueue } from '@jobstream/job-queue';
import { Metrics } from '../metrics/metrics.service.js';
import { QuotaExceededError, Quotas } from '../quotas/quotas.service.js';
import { purgeJob } from '../jobs/job-purge.js';
import { toJob } from '../jobs/job-view.js';
import { IDEMPOTENCY_KEY_RE, JobsService, canonical } from '../jobs/jobs.service.js';
import { ThreadAdvancer, queuedDedupId } from '@jobstream/job-domain';
import { THREAD_MAX_TURNS, THREAD_MAX_WAITING } from './threads.constants.js';
import { toThread } from './thread-view.js';

@Injectable()
export class ThreadsService {
  private readonly logger = new Logger('Threads');
  readonly advancer: ThreadAdvancer;

  constructor(
    @Inject(THREAD_STORE) private readonly threads: ThreadStore,
    @Inject(JOB_STORE) private readonly store: JobStore,
    @Inject(EVENT_LOG) private readonly log: EventLog,
    @Inject(JOB_QUEUE) queue: JobQueue,
    @Inject(SHARE_STORE) private readonly shares: ShareStore,
    private readonly jobs: JobsService,
    private readonly agents: AgentCatalogService,
    @Optional() private readonly metrics?: Metrics,
    @Optional() private readonly quotas?: Quotas,
    @Optional() private readonly room?: LogRoom,
  ) {
    this.advancer = new ThreadAdvancer(threads, store, queue, this.logger);
  }

  async create(tenant: string, body: CreateThreadRequest): Promise<Thread> {
    await this.agents.require(body.agent);
    const t = newThreadRecord({ id: newThreadId(), tenant, agent: body.agent, metadata: body.metadata ?? null });
    if (this.quotas) await this.quotas.enforce(() => this.threads.create(t, this.quotas!.maxThreads));
    else await this.threads.create(t);
    this.logger.log({ msg: 'thread created', thread_id: t.id, tenant, agent: t.agent });
    return toThread(t);
  }

  /** The tenant's thread; another tenant's or an unknown id is a 404. */
  async record(tenant: string, id: string): Promise<ThreadRecord> {
    if (!THREAD_ID_PATTERN.test(id)) throw ApiError.notFound('thread');
    const t = await this.threads.get(id);
    if (!t || t.tenant !== tenant) throw ApiError.notFound('thread');
    return t;
  }

  async get(tenant: string, id: string): Promise<Thread> {
    const t = await this.record(tenant, id);
    // a turn that has just ended in the log shows as ended here too (see settleIfEnded)
    if (t.active_job_id !== null && (await this.settleIfEnded(t.id, t.active_job_id)))
      return toThread(await this.record(tenant, id));
    return toThread(t);
  }

  async list(
    tenant: string,
    q: { limit: number; cursor?: string },
  ): Promise<{ items: Thread[]; next_cursor: string | null }> {
    const page = await this.threads.list(tenant, { limit: q.limit, cursor: q.cursor ?? null });
    return { items: page.items.map(toThread), next_cursor: page.next_cursor };
  }

  /** The thread's turns (jobs) in order; a turn whose job was deleted is left out. */
  async turns(
    tenant: string,
    id: string,
    q: { limit: number; cursor?: string },
  ): Promise<{ items: Job[]; next_cursor: string | null }> {
    await this.record(tenant, id);
    const page = await this.threads.turns(id, { limit: q.limit, cursor: q.cursor ?? null });
    const jobs = await Promise.all(
      page.items.map(async (ref) => {
        const rec = await this.store.get(ref.job_id);
        return rec ? toJob(rec, await this.log.last(rec.id)) : null;
      }),
    );
    return { items: jobs.filter((j): j is Job => j !== null), next_cursor: page.next_cursor };
  }

  /** A new turn: see the header. `rerun_of` when it reruns an earlier job. */
  async createTurn(
    tenant: string,
    threadId: string,
    body: CreateTurnRequest,
    idempotencyKey?: string,
    extra: { rerun_of?: string } = {},
  ): Promise<{ job: Job; created: boolean }> {
    const thread = await this.record(tenant, threadId);
    await this.agents.validateInput(thread.agent, body.input);
    if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY_RE.test(idempotencyKey)) {
      throw ApiError.invalid('Idempotency-Key must be 1 to 255 visible ASCII characters');
    }
    const ifBusy = body.if_busy ?? 'reject';
    // soft bounds (checked before the atomic step; they bound growth, they need not be exact)
    if (thread.turns >= THREAD_MAX_TURNS)
      throw new ApiError(409, 'conflict', `a thread has at most ${THREAD_MAX_TURNS} turns; start a new thread`);
    if (ifBusy === 'enqueue' && thread.pending.length >= THREAD_MAX_WAITING) {
      throw new ApiError(409, 'thread_busy', `${THREAD_MAX_WAITING} turns are already waiting in this thread`);
    }
    await this.room?.check(tenant); // a full log (503) or the tenant's log-bytes quota (429)
    const id = newJobId();
    const record = newJobRecord({
      id,
      tenant,
      agent: thread.agent,
      input: body.input,
      metadata: body.metadata ?? null,
      thread_id: threadId,
      ...extra,
    });
    try {
      if (this.quotas) await this.quotas.enforce(() => this.store.create(record, undefined, this.quotas!.jobCreate));
      else await this.store.create(record);
    } catch (err) {
      // it may have landed, or may still: it must not run (create-abandon.ts); a quota refusal wrote nothing
      if (!(err instanceof QuotaExceededError)) void abandonCreate(this.store, record);
      throw err;
    }
    try {
      await this.log.append(id, {
        event: { type: 'status', status: 'queued' },
        attempt: 1,
        dedupId: queuedDedupId(id),
      });
    } catch (err) {
      await this.discard(id, record);
      throw err;
    }
    const idempotency = idempotencyKey
      ? {
          key: idempotencyKey,
          fingerprint: createHash('sha256')
            .update(canonical({ ...body, ...extra }))
            .digest('hex'),
        }
      : undefined;
    let r;
    try {
      r = await this.threads.beginTurn(threadId, { jobId: id, ifBusy, idempotency });
      // the active turn may have ended in the log a moment ago, its settling still under way: help it, try again
      for (let i = 0; i < 3 && r.kind === 'busy' && (await this.settleIfEnded(threadId, r.active_job_id)); i++) {
        r = await this.threads.beginTurn(threadId, { jobId: id, ifBusy, idempotency });
      }
    } catch (err) {
      // the thread may hold the turn after all: its job goes, so whoever starts the turn skips it
      await this.discard(id, record);
      throw err;
    }
    switch (r.kind) {
      case 'not_found':
        await this.discard(id);
        throw ApiError.notFound('thread');
      case 'busy':
        await this.discard(id);
        this.metrics?.threadTurn(ifBusy, 'rejected');
        throw new ApiError(
          409,
          'thread_busy',
          `the thread has an active turn (${r.active_job_id}); wait for it, or send if_busy "interrupt" or "enqueue"`,
        );
      case 'conflict':
        await this.discard(id);
        throw new ApiError(
          409,
          'idempotency_conflict',
          `Idempotency-Key "${idempotencyKey}" was already used with a different request body`,
        );
      case 'existing':
        await this.discard(id);
        return { job: await this.jobs.get(tenant, r.job_id), created: false };
    }
    // The thread holds the turn now: the answer is 201 whatever fails from here on (the thread sweep starts a
    // turn whose hand-over failed, and repeats an interrupt's cancel).
    const createdJob = { ...record, turn: r.turn };
    try {
      await this.store.update(id, { turn: r.turn });
    } catch (err) {
      this.logger.warn({ msg: 'recording the turn number failed', job_id: id, error: String(err) });
    }
    this.metrics?.jobTransition('queued');
    this.metrics?.threadTurn(ifBusy, r.kind);
    this.logger.log({
      msg: 'thread turn created',
      thread_id: threadId,
      job_id: id,
      turn: r.turn,
      if_busy: ifBusy,
      outcome: r.kind,
    });
    if (r.kind === 'started') {
      try {
        if (!(await this.advancer.start(threadId, id))) await this.advancer.jobEnded(threadId, id);
      } catch (err) {
        this.logger.warn({
          msg: 'starting the turn failed; the thread sweep will start it',
          thread_id: threadId,
          job_id: id,
          error: String(err),
        });
      }
    } else {
      for (const other of r.interrupt) {
        // a failure here is not the new turn's: the thread remembers what to cancel and the sweep repeats it
        await this.jobs.cancel(tenant, other, INTERRUPTED_REASON).catch((err: unknown) => {
          this.logger.warn({
            msg: 'interrupt cancel failed; the thread sweep will repeat it',
            thread_id: threadId,
            job_id: other,
            error: String(err),
          });
        });
      }
    }
    const job = await this.jobs.get(tenant, id).catch(() => toJob(createdJob, null));
    return { job, created: true };
  }

  /** Deletes the thread, its jobs and their events; 409 `thread_busy` while a turn is active or waiting. */
  async delete(tenant: string, id: string): Promise<void> {
    await this.record(tenant, id);
    let r = await this.threads.delete(id);
    for (let i = 0; i < 3 && r.kind === 'busy' && (await this.settleIfEnded(id, r.active_job_id)); i++)
      r = await this.threads.delete(id);
    if (r.kind === 'not_found') throw ApiError.notFound('thread');
    if (r.kind === 'busy')
      throw new ApiError(409, 'thread_busy', `the thread has an active turn (${r.active_job_id}); cancel it first`);
    for (const jobId of r.job_ids) await purgeJob(jobId, this.store, this.log, this.shares);
    this.logger.log({ msg: 'thread deleted', thread_id: id, tenant, jobs: r.job_ids.length });
  }

  /**
   * When the thread's active job has already ended in the log (the arbiter of a job's end) but the thread was not
   * advanced yet — the settling process is a moment behind, or died — advances it now. True when it did.
   */
  private async settleIfEnded(threadId: string, activeJobId: string): Promise<boolean> {
    const rec = await this.store.get(activeJobId);
    if (rec && !isTerminalStatus(toJob(rec, await this.log.last(activeJobId)).status)) return false;
    await this.advancer.jobEnded(threadId, activeJobId);
    return true;
  }

  /** Cancels the thread's active job for an interrupting turn (the sweep repeats it if the first try was lost). */
  async interrupt(tenant: string, jobId: string): Promise<void> {
    await this.jobs.cancel(tenant, jobId, INTERRUPTED_REASON);
  }

  /**
   * Removes a job that never became a turn (nobody has seen it). With `failed` (a step's outcome is unknown), the
   * job is abandoned instead, so that it is refused or removed even if a write lands late.
   */
  private async discard(id: string, failed?: JobRecord): Promise<void> {
    await this.log.delete(id).catch(() => {});
    if (failed) void abandonCreate(this.store, failed);
    else await this.store.delete(id).catch(() => {});
  }
}
