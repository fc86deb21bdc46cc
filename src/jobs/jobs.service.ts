/** The jobs use cases behind the REST API (and the NATS request-reply API): tenant rules live here. */
import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { createHash } from 'node:crypto';
import {
  JOB_ID_PATTERN,
  isTerminalEvent,
  isTerminalStatus,
  newJobId,
  type CreateJobRequest,
  type Job,
  type JobEvent,
  type JobStatus,
} from '@jobstream/contracts';
import {
  cursorOf,
  eventSize,
  isFullPage,
  isTerminalLogged,
  positionOf,
  type EventLog,
  type LiveHub,
  type LoggedEvent,
} from '@jobstream/event-log';
import type { JobControl, JobQueue } from '@jobstream/job-queue';
import {
  IdempotencyConflictError,
  needsDispatch,
  newJobRecord,
  type JobRecord,
  type JobStore,
} from '@jobstream/job-store';
import { abandonCreate } from './create-abandon.js';
import { ApiError } from '../common/api-error.js';
import { AgentCatalogService } from '../agents/agent-catalog.service.js';
import { dispatchJob } from '@jobstream/job-domain';
import { EVENT_LOG, JOB_CONTROL, JOB_QUEUE, JOB_STORE } from '../engine/engine.constants.js';
import { Metrics } from '../metrics/metrics.service.js';
import { QuotaExceededError, Quotas } from '../quotas/quotas.service.js';
import { LogRoom } from '../limits/log-room.js';
import { cancelledDedupId, endJob, type JobEnding } from '@jobstream/job-domain';
import { JobStreamService, type StreamStart } from './job-stream.service.js';
import type { EventFilter } from './stream-formats/event-filter.js';
import { LIVE_HUB } from './jobs.constants.js';
import { toJob } from './job-view.js';
import { Traced } from '../tracing/tracing.js';

export interface EventsPage {
  events: (JobEvent & { id: string })[];
  next_after: string | null;
  has_more: boolean;
  status: JobStatus;
}

/** Events read per log page while filtering `/events`, and the most looked at for one filtered page. */
const FILTER_READ_PAGE = 1000;
const FILTER_SCAN_MAX = 10_000;
/**
 * Bytes (event JSON) of one `/events` page, besides its `limit`: the page ends after the event that reaches it
 * (at least one event), so a page of huge events costs about this much memory, not `limit` × the event cap.
 */
export const EVENTS_PAGE_BYTES = 1024 * 1024;

export const IDEMPOTENCY_KEY_RE = /^[\x21-\x7e]{1,255}$/;

/** Canonical JSON (sorted keys), so that the same body always has the same fingerprint. */
export function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

@Injectable()
export class JobsService {
  private readonly logger = new Logger('Jobs');

  constructor(
    @Inject(JOB_STORE) private readonly store: JobStore,
    @Inject(EVENT_LOG) private readonly log: EventLog,
    @Inject(JOB_QUEUE) private readonly queue: JobQueue,
    @Inject(JOB_CONTROL) private readonly control: JobControl,
    @Inject(LIVE_HUB) private readonly hub: LiveHub<string>,
    private readonly streams: JobStreamService,
    private readonly agents: AgentCatalogService,
    @Optional() private readonly metrics?: Metrics,
    @Optional() private readonly quotas?: Quotas,
    @Optional() private readonly room?: LogRoom,
  ) {}

  private get deps() {
    return { store: this.store, log: this.log, queue: this.queue };
  }

  @Traced('job.create', {
    attrs: (tenant: string, body: CreateJobRequest) => ({ 'jobstream.tenant': tenant, 'jobstream.agent': body.agent }),
  })
  async create(
    tenant: string,
    body: CreateJobRequest,
    idempotencyKey?: string,
    extra: { rerun_of?: string } = {},
  ): Promise<{ job: Job; created: boolean }> {
    await this.agents.validateInput(body.agent, body.input);
    if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY_RE.test(idempotencyKey)) {
      throw ApiError.invalid('Idempotency-Key must be 1 to 255 visible ASCII characters');
    }
    // a full log (503) or a tenant at its log-bytes quota (429): no new work
    await this.room?.check(tenant);
    const record = newJobRecord({
      id: newJobId(),
      tenant,
      agent: body.agent,
      input: body.input,
      metadata: body.metadata ?? null,
      ...extra,
      ...(idempotencyKey !== undefined ? { idempotency_key: idempotencyKey } : {}),
    });
    const idem = idempotencyKey
      ? { key: idempotencyKey, fingerprint: createHash('sha256').update(canonical(body)).digest('hex') }
      : undefined;
    // The new job's live feed opens now, alongside the store's round trip, so its first event is caught live and
    // the stream its client opens next is served from memory (LiveHub.prewarm; no-op without a hot cache).
    this.hub.prewarm(record.id);
    let stored;
    try {
      stored = this.quotas
        ? await this.quotas.enforce(() => this.store.create(record, idem, this.quotas!.jobCreate))
        : await this.store.create(record, idem);
    } catch (err) {
      this.hub.release(record.id);
      // a 503 leaves no job that will run: the write may have landed, or may still (see create-abandon.ts)
      // (a refusal — idempotency conflict, quota — wrote nothing)
      if (!(err instanceof IdempotencyConflictError) && !(err instanceof QuotaExceededError))
        void abandonCreate(this.store, record);
      throw err;
    }
    const { job, created } = stored;
    if (!created) this.hub.release(record.id); // an earlier create with this Idempotency-Key: not this id
    // The record is durable: the answer is 201 (200 for a replay) whatever fails from here on. A dispatch that
    // fails leaves the job queued and unconfirmed, where the watchdog's sweep dispatches it (@jobstream/job-domain's dispatch).
    let first: LoggedEvent | null = null;
    try {
      if (created) {
        this.metrics?.jobTransition('queued');
        // the confirmation goes on after the answer (the worker confirms the job too; see the job domain's dispatch)
        first = await dispatchJob(this.deps, job, true, (err: unknown) =>
          this.logger.warn({
            msg: 'dispatch confirmation failed; the worker or the sweep confirms it',
            job_id: job.id,
            error: err instanceof Error ? err.message : String(err),
          }),
        );
        this.logger.log({ msg: 'job created', job_id: job.id, tenant, agent: job.agent });
      } else if (needsDispatch(job)) {
        await dispatchJob(this.deps, job);
        this.logger.warn({ msg: 'stranded job dispatched by a retried create', job_id: job.id, tenant });
      }
      // a new job's last event is the one just appended (no read needed: the answer is a snapshot either way)
      return { job: toJob(job, first ?? (await this.log.last(job.id))), created };
    } catch (err) {
      this.logger.warn({
        msg: 'job recorded, its dispatch failed; the sweep dispatches it',
        job_id: job.id,
        tenant,
        error: err instanceof Error ? err.message : String(err),
      });
      return { job: toJob(job, first), created };
    }
  }

  /** The tenant's job record; another tenant's job or an unknown id is a 404. */
  async record(tenant: string, id: string): Promise<JobRecord> {
    if (!JOB_ID_PATTERN.test(id)) throw ApiError.notFound();
    const rec = await this.store.get(id);
    if (!rec || rec.tenant !== tenant) throw ApiError.notFound();
    return rec;
  }

  async get(tenant: string, id: string): Promise<Job> {
    const rec = await this.record(tenant, id);
    const job = toJob(rec, await this.log.last(id));
    return job.status === 'queued'
      ? { ...job, waiting_for_worker: await this.agents.waitingForWorker(job.agent) }
      : job;
  }

  async list(
    tenant: string,
    q: { status?: JobStatus; limit: number; cursor?: string },
  ): Promise<{ items: Job[]; next_cursor: string | null }> {
    const page = await this.store.list(tenant, { status: q.status, limit: q.limit, cursor: q.cursor ?? null });
    const lasts = await Promise.all(page.items.map((r) => this.log.last(r.id)));
    return { items: page.items.map((r, i) => toJob(r, lasts[i]!)), next_cursor: page.next_cursor };
  }

  /**
   * Asks the job to stop; idempotent. A queued job is cancelled here and never runs; a running one is stopped by
   * the worker that runs it (control channel), which appends `cancelled` with the usage so far.
   */
  async cancel(tenant: string, id: string, reason = ''): Promise<Job> {
    const rec = await this.record(tenant, id);
    if (isTerminalStatus(rec.status)) return this.get(tenant, id);
    // durable (REDIS_MIN_REPLICAS_ACK): a cancel answered is kept through a Redis failover
    if (rec.cancel_reason === null) await this.store.update(id, { cancel_reason: reason }, { durable: true });
    // Ending it here goes through the one module that ends jobs (the job domain's job-ending): the job as a whole
    // (scope 'job'), so a log already on a newer attempt is followed, and a log already closed wins.
    const ending = (r: JobRecord): JobEnding => ({
      jobId: id,
      attempt: r.attempt,
      event: { type: 'cancelled', reason, usage: r.usage },
      dedupId: cancelledDedupId(id),
      scope: 'job',
    });
    const deps = { store: this.store, log: this.log, onTransition: (s: JobStatus) => this.metrics?.jobTransition(s) };
    if (rec.status === 'waiting_for_input') {
      // No worker holds a waiting job: end it here, at once. (If it was answered meanwhile, the worker that picks
      // it up sees the cancel_reason and ends it.)
      const r = await this.store.get(id);
      if (r?.status === 'waiting_for_input') {
        await endJob(deps, ending(r));
        this.logger.log({ msg: 'waiting job cancelled', job_id: id, tenant });
        return this.get(tenant, id);
      }
    }
    // A queued job is taken from the queue first (store-first, atomically: a worker starting it now finds it
    // cancelled), then its log is ended; the store then only aligns its end time with the event's.
    const tr = await this.store.transition(id, 'cancelled', {
      from: ['queued'],
      patch: { cancel_reason: reason },
      durable: true,
    });
    if (tr.changed) {
      this.metrics?.jobTransition('cancelled');
      await endJob(deps, ending(rec));
    } else {
      await this.control.requestCancel(id, reason);
    }
    this.logger.log({ msg: 'cancel requested', job_id: id, tenant, was: rec.status });
    return this.get(tenant, id);
  }

  async events(
    tenant: string,
    id: string,
    after: string | undefined,
    limit: number,
    filter?: EventFilter | null,
  ): Promise<EventsPage> {
    const rec = await this.record(tenant, id);
    const start = await this.streams.resolveCursor(rec, after);
    if (filter) return this.filteredEvents(rec, start, after, limit, filter);
    const page = await this.log.read(id, start.after, limit + 1, EVENTS_PAGE_BYTES);
    const events = page.slice(0, limit);
    const lastRead = events[events.length - 1];
    // a page cut by its byte bound may have more after it, unless it ends with the job's terminal event
    const cutByBytes =
      isFullPage(page, Infinity, EVENTS_PAGE_BYTES) && lastRead !== undefined && !isTerminalLogged(lastRead);
    return {
      events: events.map((e) => ({ ...e.event, id: cursorOf(e) })),
      next_after: lastRead ? cursorOf(lastRead) : after && after.trim() !== '' ? after.trim() : null,
      has_more: page.length > limit || cutByBytes,
      status: toJob(rec, start.last).status,
    };
  }

  /**
   * A page of the events matching `filter`: reads the log in pages from the cursor until `limit` matches, the end
   * of the log, or {@link FILTER_SCAN_MAX} events looked at. `next_after` is the cursor of the last event looked at
   * (matching or not), so the next page goes on from there: exact for the filtered view, and a job with few
   * matching events is not rescanned page after page.
   */
  private async filteredEvents(
    rec: JobRecord,
    start: StreamStart,
    after: string | undefined,
    limit: number,
    filter: EventFilter,
  ): Promise<EventsPage> {
    const matched: LoggedEvent[] = [];
    let lastSeen: LoggedEvent | null = null;
    let scanned = 0;
    let hasMore = false;
    let matchedBytes = 0;
    let pos = start.after;
    for (;;) {
      const page = await this.log.read(rec.id, pos, FILTER_READ_PAGE, EVENTS_PAGE_BYTES);
      for (const e of page) {
        if (matched.length === limit || matchedBytes >= EVENTS_PAGE_BYTES) {
          hasMore = true;
          break;
        }
        lastSeen = e;
        scanned++;
        if (filter.allows(e.event.type)) {
          matched.push(e);
          matchedBytes += eventSize(e);
        }
      }
      if (hasMore || !isFullPage(page, FILTER_READ_PAGE, EVENTS_PAGE_BYTES)) break;
      if (scanned >= FILTER_SCAN_MAX) {
        hasMore = true;
        break;
      }
      pos = positionOf(page[page.length - 1]!);
    }
    return {
      events: matched.map((e) => ({ ...e.event, id: cursorOf(e) })),
      next_after: lastSeen ? cursorOf(lastSeen) : after && after.trim() !== '' ? after.trim() : null,
      has_more: hasMore,
      status: toJob(rec, start.last).status,
    };
  }

  /** Blocks until the job is terminal, the timeout passes, or the client leaves. */
  async wait(tenant: string, id: string, timeoutS: number, signal: AbortSignal): Promise<Job> {
    let job = await this.get(tenant, id);
    // a job waiting for input cannot end without an answer, so the wait returns then too
    if (isTerminalStatus(job.status) || job.status === 'waiting_for_input' || timeoutS === 0 || signal.aborted)
      return job;
    await new Promise<void>((resolve) => {
      let leave: (() => void) | null = null;
      let finished = false;
      const finish = () => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', finish);
        leave?.();
        resolve();
      };
      const timer = setTimeout(finish, timeoutS * 1000);
      signal.addEventListener('abort', finish, { once: true });
      this.hub
        .subscribe(id, {
          next: (e) =>
            (isTerminalEvent(e.event) || (e.event.type === 'status' && e.event.status === 'waiting_for_input')) &&
            finish(),
          error: finish,
        })
        .then(async (unsubscribe) => {
          leave = unsubscribe;
          if (finished) return unsubscribe();
          // the job may have ended between the first look and the subscription
          const last = await this.log.last(id);
          if (
            last &&
            (isTerminalEvent(last.event) || (last.event.type === 'status' && last.event.status === 'waiting_for_input'))
          )
            finish();
        })
        .catch(finish);
    });
    job = await this.get(tenant, id);
    return job;
  }
}
