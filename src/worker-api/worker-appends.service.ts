/**
 * `POST /v1/worker/leases/:id/events` and `…/heartbeat`: an HTTP worker's outputs appended under its lease.
 *
 * A request is decided by the lease store in one atomic step (`begin`: 404 unknown, 204 repeat, 410 not current,
 * 409 gap, or `n` reserved), then its outputs are appended as a TypeScript agent's are — the size caps, MAX_JOB_BYTES,
 * the tenant's log-bytes quota, MAX_EVENTS_PER_JOB, questions parked, the terminal event ending the attempt through
 * the job-ending module — each with a dedup id derived from (lease, Producer-Seq, index; a run of consecutive
 * token/thinking outputs is merged into one event first: coalesceOutputs), and the log fencing the
 * attempt (a superseded attempt's append is refused: 410). Only then is `n` committed. A request that fails
 * half-way (an outage: 503) commits nothing; its retry under the same `n` appends the same dedup ids, which the log
 * stores once, and goes on where the first try stopped.
 */
import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import {
  encodeCursor,
  isTerminalEvent,
  type AgentEvent,
  type TerminalAgentEvent,
  type Usage,
} from '@jobstream/contracts';
import {
  EventLogFullError,
  JobLogClosedError,
  StaleAttemptError,
  type EventLog,
  type LoggedEvent,
} from '@jobstream/event-log';
import type { AgentCatalog, JobQueue } from '@jobstream/job-queue';
import type { JobRecord, JobStore } from '@jobstream/job-store';
import { ApiError } from '../common/api-error.js';
import { AppConfig } from '../config/config.js';
import { AGENT_CATALOG, EVENT_LOG, JOB_QUEUE, JOB_STORE } from '../engine/engine.constants.js';
import { Metrics } from '../metrics/metrics.service.js';
import type { LeaseRecord, LeaseStore } from './leases/lease-store.port.js';
import { appendRetrying } from './lease-log.js';
import {
  JobLogAccount,
  capEvent,
  endDedupId,
  endJob,
  eventBytes,
  eventLogFullError,
  jsonBytes,
  settleFromLog,
  tooManyEventsError,
  type JobEndingDeps,
  type TerminalJobEvent,
  leaseBatchDedupId,
  mergedOutputDedupId,
} from './runner-parts.js';
import { OutputRefused, checkOutputs, coalesceOutputs, type WorkerOutput } from './worker-outputs.js';
import { askQuestion } from './worker-questions.js';
import type { AppendAnswer, HeartbeatAnswer } from './worker-api.dto.js';
import { WORKER_LEASES } from './worker-api.constants.js';
import { WorkerApiMetrics } from './worker-api.metrics.js';

/** How long a reserved Producer-Seq keeps other tries of it (and the lapse sweep) off: above an append's retry. */
const RESERVE_MS = 20_000;

export type AppendResult =
  | { status: 200; body: AppendAnswer }
  | { status: 204 }
  | { status: 409; body: { error: { code: 'producer_seq_gap'; message: string; expected: number } } };

export const leaseLost = (why: string) => new ApiError(410, 'lease_lost', `the lease is no longer current: ${why}`);
const unknownLease = () => new ApiError(404, 'not_found', 'lease not found');

export function parseProducerSeq(raw: string | string[] | undefined): number {
  const v = Array.isArray(raw) ? raw[0] : raw;
  if (v === undefined || !/^\d{1,15}$/.test(v.trim()))
    throw ApiError.invalid('Producer-Seq: send the header with a number, 0 for the first request of a lease');
  return Number(v.trim());
}

@Injectable()
export class WorkerAppendsService {
  private readonly logger = new Logger('WorkerApi');
  /** Worker liveness announces skipped until then ("worker\u0000agent" → ms), so a heartbeat is one write at most per third of a lease. */
  private readonly announced = new Map<string, number>();

  constructor(
    @Inject(JOB_STORE) private readonly store: JobStore,
    @Inject(EVENT_LOG) private readonly log: EventLog,
    @Inject(JOB_QUEUE) private readonly queue: JobQueue,
    @Inject(AGENT_CATALOG) private readonly catalog: AgentCatalog,
    @Inject(WORKER_LEASES) private readonly leases: LeaseStore,
    private readonly config: AppConfig,
    @Optional() private readonly metrics?: WorkerApiMetrics,
    @Optional() private readonly jobMetrics?: Metrics,
  ) {}

  private get leaseMs(): number {
    return this.config.workerApi.leaseMs;
  }

  async append(leaseId: string, seqHeader: string | string[] | undefined, body: unknown): Promise<AppendResult> {
    const n = parseProducerSeq(seqHeader);
    let outputs: WorkerOutput[];
    try {
      outputs = checkOutputs(body, this.config.maxEventBytes);
    } catch (err) {
      if (!(err instanceof OutputRefused)) throw err;
      this.metrics?.append('invalid');
      throw new ApiError(err.status, err.status === 413 ? 'payload_too_large' : 'invalid_request', err.message);
    }
    const b = await this.leases.begin(leaseId, n, Date.now(), RESERVE_MS);
    switch (b.kind) {
      case 'unknown':
        this.metrics?.append('unknown');
        throw unknownLease();
      case 'duplicate':
        this.metrics?.append('duplicate');
        return { status: 204 };
      case 'lost':
        this.metrics?.append('lost');
        throw leaseLost(b.lease.state === 'ended' ? 'it ended' : 'it lapsed');
      case 'gap':
        this.metrics?.append('gap');
        return {
          status: 409,
          body: {
            error: {
              code: 'producer_seq_gap',
              message: `Producer-Seq ${n} skips ahead: the lease expects ${b.expected}`,
              expected: b.expected,
            },
          },
        };
      case 'busy':
        this.metrics?.append('busy');
        throw new ApiError(503, 'service_unavailable', `Producer-Seq ${n} is being appended by an earlier try`, {
          'Retry-After': '1',
        });
    }
    try {
      return await this.appendReserved(b.lease, n, outputs);
    } catch (err) {
      await this.leases.abort(leaseId, n).catch(() => {});
      if (!(err instanceof ApiError)) this.metrics?.append('unavailable');
      throw err;
    }
  }

  async heartbeat(leaseId: string): Promise<HeartbeatAnswer> {
    const t = await this.leases.touch(leaseId, Date.now(), this.leaseMs);
    if (t.kind === 'unknown') throw unknownLease();
    if (t.kind === 'lost') throw leaseLost(t.lease.state === 'ended' ? 'it ended' : 'it lapsed');
    const rec = await this.store.get(t.lease.job_id);
    if (!rec || rec.attempt !== t.lease.attempt || rec.status !== 'running') {
      await this.leases.end(leaseId);
      throw leaseLost(rec ? `the job is ${rec.status} (attempt ${rec.attempt})` : 'the job is gone');
    }
    await this.store.heartbeat(rec.id, new Date());
    await this.renewLiveness(t.lease);
    return {
      cancel_requested: rec.cancel_reason !== null,
      ...(rec.cancel_reason !== null ? { cancel_reason: rec.cancel_reason } : {}),
      lease_expires_at: new Date(t.lease.expires_at).toISOString(),
    };
  }

  private async appendReserved(lease: LeaseRecord, n: number, outputs: WorkerOutput[]): Promise<AppendResult> {
    const rec = await this.store.get(lease.job_id);
    if (!rec || rec.attempt !== lease.attempt || rec.status !== 'running') {
      await this.leases.abort(lease.lease_id, n);
      await this.leases.end(lease.lease_id);
      this.metrics?.append('lost');
      throw leaseLost(rec ? `the job is ${rec.status} (attempt ${rec.attempt})` : 'the job is gone');
    }
    let outcome: Outcome;
    try {
      outcome = await this.appendOutputs(rec, lease, n, outputs);
    } catch (err) {
      if (err instanceof StaleAttemptError || err instanceof JobLogClosedError) {
        if (err instanceof JobLogClosedError)
          await settleFromLog(this.ending, rec.id, err.terminal.event as TerminalJobEvent);
        await this.leases.abort(lease.lease_id, n);
        await this.leases.end(lease.lease_id);
        this.metrics?.append('lost');
        throw leaseLost(err instanceof StaleAttemptError ? 'the job moved to another attempt' : 'the job ended');
      }
      throw err;
    }
    const now = Date.now();
    const committed = await this.leases.commit(lease.lease_id, n, now, this.leaseMs, outcome.endsLease);
    if (!committed) {
      this.metrics?.append('lost');
      throw leaseLost('it lapsed while the request ran');
    }
    this.metrics?.append('appended', outcome.appended);
    if (!outcome.endsLease) await this.store.heartbeat(rec.id, new Date(now));
    else
      this.logger.log({
        msg: 'HTTP worker lease ended',
        job_id: rec.id,
        lease_id: lease.lease_id,
        worker_id: lease.worker_id,
        outcome: outcome.ending,
      });
    const last = outcome.last;
    return {
      status: 200,
      body: {
        next_producer_seq: n + 1,
        cancel_requested: rec.cancel_reason !== null,
        ...(rec.cancel_reason !== null ? { cancel_reason: rec.cancel_reason } : {}),
        lease_expires_at: new Date(committed.expires_at).toISOString(),
        last_event_id: last ? encodeCursor(rec.id, { seq: last.event.seq, pos: last.pos }) : null,
      },
    };
  }

  /** Appends the batch (see the header); what it did, and whether the lease ends with it. */
  private async appendOutputs(
    job: JobRecord,
    lease: LeaseRecord,
    n: number,
    outputs: WorkerOutput[],
  ): Promise<Outcome> {
    const jobId = job.id;
    const attempt = lease.attempt;
    const base = leaseBatchDedupId(jobId, attempt, lease.lease_id, n);
    const maxEventBytes = this.config.maxEventBytes;
    const account = await JobLogAccount.open(
      this.store,
      job,
      { maxJobBytes: this.config.maxJobBytes, tenantQuota: this.config.tenantLogBytesQuota },
      this.logger,
    );
    const usage: Usage = { ...job.usage };
    const out: Outcome = { last: null, appended: 0, endsLease: false, ending: null };
    const end = async (event: TerminalAgentEvent, dedupId: string, why: string): Promise<Outcome> => {
      const ended = await endJob(this.ending, { jobId, attempt, event, dedupId, scope: 'attempt' });
      this.logger.warn({ msg: `HTTP worker's job ended: ${why}`, job_id: jobId, lease_id: lease.lease_id });
      return { ...out, endsLease: true, ending: ended.status };
    };
    try {
      const items = coalesceOutputs(outputs, maxEventBytes, this.config.coalesceTextEvents);
      for (const { o, first: i, count } of items) {
        const id = mergedOutputDedupId(`${base}:${i}`, count);
        if ('question' in o) {
          const asked = await askQuestion(
            { store: this.store, log: this.log, queue: this.queue, inputTimeoutMs: this.config.inputTimeoutMs },
            job,
            attempt,
            o.question,
            id,
          );
          if (asked.kind === 'refused') return await end(asked.event, endDedupId(jobId, attempt), asked.event.type);
          if (asked.kind === 'ended') return { ...out, endsLease: true, ending: asked.event.type };
          out.appended++;
          return { ...out, last: asked.event, endsLease: true, ending: 'waiting_for_input' };
        }
        const capped = capEvent(o.event, maxEventBytes);
        if (!capped.ok) throw new ApiError(413, 'payload_too_large', `[${i}]: over MAX_EVENT_BYTES`);
        for (const [k, piece] of capped.events.entries()) {
          const dedupId = k === 0 ? id : `${id}:p${k}`;
          if (isTerminalEvent(piece)) {
            const stored = await this.appendTerminal(jobId, attempt, piece, dedupId);
            out.appended++;
            return { ...out, last: stored, endsLease: true, ending: piece.type };
          }
          if (!account.fits(eventBytes(piece)))
            return await end(account.tooManyBytes(usage), endDedupId(jobId, attempt), 'MAX_JOB_BYTES');
          const stored = await appendRetrying(this.log, jobId, { event: piece, attempt, dedupId });
          account.add(stored.json !== undefined ? Buffer.byteLength(stored.json) : jsonBytes(stored.event));
          out.last = stored;
          out.appended++;
          const cap = this.config.maxEventsPerJob;
          if (stored.event.seq >= cap - 1)
            return await end(tooManyEventsError(cap, usage), endDedupId(jobId, attempt), 'MAX_EVENTS_PER_JOB');
        }
      }
      if (await account.overQuota())
        return await end(account.quotaExceeded(usage), endDedupId(jobId, attempt), 'TENANT_LOG_BYTES_QUOTA');
      return out;
    } catch (err) {
      if (!(err instanceof EventLogFullError)) throw err;
      return await end(eventLogFullError(usage), endDedupId(jobId, attempt), 'event_log_full');
    } finally {
      await account.flush();
    }
  }

  /** The worker's terminal output: appended, then the store settled from it (the job-ending module's rule 1). */
  private async appendTerminal(
    jobId: string,
    attempt: number,
    event: AgentEvent,
    dedupId: string,
  ): Promise<LoggedEvent> {
    const stored = await appendRetrying(this.log, jobId, { event, attempt, dedupId });
    await settleFromLog(this.ending, jobId, stored.event as TerminalJobEvent);
    return stored;
  }

  /** "Claimed or heartbeat within the last WORKER_LEASE_S": a heartbeat renews the worker's liveness too. */
  private async renewLiveness(lease: LeaseRecord): Promise<void> {
    const key = `${lease.worker_id}\u0000${lease.agent}`;
    const now = Date.now();
    if ((this.announced.get(key) ?? 0) > now) return;
    try {
      const def = await this.catalog.get(lease.agent);
      if (def)
        await this.catalog.announce(
          lease.worker_id,
          [{ name: def.name, description: def.description, input_schema: def.input_schema }],
          this.leaseMs,
        );
      if (this.announced.size > 10_000) this.announced.clear();
      this.announced.set(key, now + Math.floor(this.leaseMs / 3));
    } catch (err) {
      // liveness only feeds the `workers` count; the lease itself is extended
      this.logger.warn({ msg: 'renewing an HTTP worker in the catalogue failed', error: String(err) });
    }
  }

  private get ending(): JobEndingDeps {
    return {
      store: this.store,
      log: this.log,
      append: (id, input) => appendRetrying(this.log, id, input),
      onTransition: (s) => this.jobMetrics?.jobTransition(s),
    };
  }
}

interface Outcome {
  /** The last event appended by this request. */
  last: LoggedEvent | null;
  appended: number;
  endsLease: boolean;
  /** How the lease ended: the terminal type, the job's end status, or `waiting_for_input`. */
  ending: string | null;
}
