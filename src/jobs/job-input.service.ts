/**
 * Interactive jobs: answering a job's open `input_required` (`POST /v1/jobs/:id/input`, NATS
 * `jobstream.api.jobs.input`). The rules of the contract live here; tenant checks are JobsService's.
 */
import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { MAX_INPUT_ANSWER_BYTES, isTerminalStatus, type InputJobRequest, type Job } from '@jobstream/contracts';
import { JobLogClosedError, type EventLog } from '@jobstream/event-log';
import type { JobQueue } from '@jobstream/job-queue';
import { ANSWERED_INPUTS_KEPT, type JobRecord, type JobStore } from '@jobstream/job-store';
import { ApiError } from '../common/api-error.js';
import { dispatchJob } from '@jobstream/job-domain';
import { EVENT_LOG, JOB_QUEUE, JOB_STORE } from '../engine/engine.constants.js';
import { canonicalJson, checkToolResults, inputSchemas } from '@jobstream/job-domain';
import { Metrics } from '../metrics/metrics.service.js';
import { expireInput } from '../watchdog/job-watchdog.js';
import { asTerminal, settleFromLog } from '@jobstream/job-domain';
import { JobsService } from './jobs.service.js';

/** How an accepted answer is remembered on the record: the SHA-256 of its canonical JSON (answers go up to 256 KiB). */
export const answerDigest = (canonical: string): string => createHash('sha256').update(canonical).digest('hex');

/** The record's answered requests plus this one, the newest {@link ANSWERED_INPUTS_KEPT}. */
function withAnswer(j: JobRecord, rid: string, canonical: string): Record<string, string> {
  const all = Object.entries({ ...j.answered_inputs, [rid]: answerDigest(canonical) });
  return Object.fromEntries(all.slice(-ANSWERED_INPUTS_KEPT));
}

@Injectable()
export class JobInputService {
  private readonly logger = new Logger('JobInput');

  constructor(
    @Inject(JOB_STORE) private readonly store: JobStore,
    @Inject(EVENT_LOG) private readonly log: EventLog,
    @Inject(JOB_QUEUE) private readonly queue: JobQueue,
    private readonly jobs: JobsService,
    @Optional() private readonly metrics?: Metrics,
  ) {}

  /**
   * Answers the job's open `input_required`. Race-free across API processes: the answer is recorded with
   * one compare-and-set on the job record guarded by "this request is still open and unanswered", so exactly one
   * of concurrent answers wins; the others see the recorded answer (same input ⇒ 200, else `already_answered`).
   *
   * - Job waiting (no worker holds it): `waiting_for_input → queued` + the answer, then `input_received`,
   *   `status: queued` and a new dispatch. The answer is 202 with the job.
   * - Job still running (the runner has appended the question and is parking it): the answer is recorded on the
   *   running job; the runner finds it when it parks, appends `input_received` and goes on at once.
   */
  async input(tenant: string, id: string, body: InputJobRequest): Promise<{ job: Job; accepted: boolean }> {
    const rec = await this.jobs.record(tenant, id);
    if (Buffer.byteLength(JSON.stringify(body.input)) > MAX_INPUT_ANSWER_BYTES) {
      throw new ApiError(413, 'payload_too_large', `input must serialize to at most ${MAX_INPUT_ANSWER_BYTES} bytes`);
    }
    const rid = body.request_id;
    const digest = canonicalJson(body.input);
    const req = rec.input_request;
    if (!req || req.request_id !== rid) return this.notOpen(tenant, rec, rid, digest);
    if (req.answer !== null) {
      // (a continuation that failed half-way is completed by the watchdog's sweep, never here: repeats race the
      // winner, and two processes must not append the continuation at once)
      if (canonicalJson(req.answer) === digest) return { job: await this.jobs.get(tenant, id), accepted: false };
      throw new ApiError(409, 'already_answered', `request ${rid} was already answered with a different input`);
    }
    if (
      isTerminalStatus(rec.status) ||
      (rec.status !== 'waiting_for_input' && rec.status !== 'running') ||
      req.attempt !== rec.attempt
    ) {
      throw new ApiError(409, 'not_waiting', `job ${id} is ${rec.status}; request ${rid} is not open`);
    }
    if (Date.parse(req.expires_at) <= Date.now()) {
      if (rec.status === 'waiting_for_input') await expireInput(this.store, this.log, rec);
      throw new ApiError(409, 'not_waiting', `request ${rid} expired at ${req.expires_at}`);
    }
    if (req.kind === 'tool_results' && req.tool_calls) {
      const bad = checkToolResults(req.tool_calls, body.input);
      if (bad) throw ApiError.invalid(bad);
    }
    const bad = inputSchemas.check(req.schema, body.input);
    if (bad) throw ApiError.invalid(bad);

    const answeredReq = { ...req, answer: body.input, answered_at: new Date().toISOString() };
    const open = (j: JobRecord) =>
      j.attempt === req.attempt && j.input_request?.request_id === rid && j.input_request.answer === null;
    // The job moves between `running` (being parked) and `waiting_for_input`: try the matching guarded write.
    for (let i = 0; i < 3; i++) {
      const cur = i === 0 ? rec : await this.store.get(id);
      if (!cur) throw ApiError.notFound();
      if (cur.status === 'waiting_for_input') {
        // unconfirmed dispatch (`dispatched_at: null`): whatever fails from here on (a 503 to the caller), the
        // watchdog's sweep completes the continuation (@jobstream/job-domain's dispatch)
        const tr = await this.store.transition(id, 'queued', {
          from: ['waiting_for_input'],
          where: open,
          patch: { input_request: answeredReq, answered_inputs: withAnswer(cur, rid, digest), dispatched_at: null },
          durable: true,
        });
        if (tr.changed && tr.job) {
          this.metrics?.jobTransition('queued');
          await this.continueAnswered(tr.job);
          this.logger.log({ msg: 'input accepted; job dispatched again', job_id: id, tenant, request_id: rid });
          return { job: await this.jobs.get(tenant, id), accepted: true };
        }
      } else if (cur.status === 'running') {
        const tr = await this.store.transition(id, 'running', {
          from: ['running'],
          where: open,
          patch: { input_request: answeredReq, answered_inputs: withAnswer(cur, rid, digest) },
          durable: true,
        });
        if (tr.changed) {
          this.logger.log({ msg: 'input accepted while the job is being parked', job_id: id, tenant, request_id: rid });
          return { job: await this.jobs.get(tenant, id), accepted: true };
        }
      }
      // lost a race: decide again on the record as it is now
      const now = await this.store.get(id);
      const r = now?.input_request;
      if (!now || !r || r.request_id !== rid) break;
      if (r.answer !== null) {
        if (canonicalJson(r.answer) === digest) return { job: await this.jobs.get(tenant, id), accepted: false };
        throw new ApiError(409, 'already_answered', `request ${rid} was already answered with a different input`);
      }
      if (now.status !== 'running' && now.status !== 'waiting_for_input') break;
    }
    throw new ApiError(409, 'not_waiting', `job ${id} is not waiting for request ${rid}`);
  }

  /** After `waiting_for_input → queued`: the answer's events in the log, then a new dispatch (@jobstream/job-domain's dispatch). */
  private async continueAnswered(job: JobRecord): Promise<void> {
    try {
      await dispatchJob({ store: this.store, log: this.log, queue: this.queue }, job);
    } catch (err) {
      if (!(err instanceof JobLogClosedError)) throw err;
      // ended meanwhile (a cancel, the deadline): the store follows the log
      const t = asTerminal(job.id, err.terminal.event);
      const settled = await settleFromLog({ store: this.store }, job.id, t);
      if (settled.changed) this.metrics?.jobTransition(settled.status);
      throw new ApiError(409, 'not_waiting', `job ${job.id} ended (${t.type}) before the answer was taken`);
    }
  }

  /**
   * The request is not the job's open one: a repeat of an earlier accepted answer is still a 200. Earlier answers
   * are looked up on the record ({@link JobRecord.answered_inputs}), never by reading the job's log: a wrong
   * `request_id` costs one record read, however long the job.
   */
  private async notOpen(
    tenant: string,
    rec: JobRecord,
    rid: string,
    digest: string,
  ): Promise<{ job: Job; accepted: boolean }> {
    const earlier = Object.hasOwn(rec.answered_inputs ?? {}, rid) ? rec.answered_inputs![rid] : undefined;
    if (earlier !== undefined) {
      if (earlier === answerDigest(digest)) return { job: await this.jobs.get(tenant, rec.id), accepted: false };
      throw new ApiError(409, 'already_answered', `request ${rid} was already answered with a different input`);
    }
    throw new ApiError(
      409,
      'not_waiting',
      rec.status === 'waiting_for_input'
        ? `request ${rid} is not the open request of job ${rec.id}`
        : `job ${rec.id} is ${rec.status}, not waiting for request ${rid}`,
    );
  }
}
