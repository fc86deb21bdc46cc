/**
 * An HTTP worker's `input_required`, under the runner's rules: the question is completed (request id, schema,
 * deadline) and checked (kinds, limits, tool calls announced by their own `tool_call_start`), recorded on the job
 * record before it is appended (an answer sent the moment a client sees it finds it), then the job is parked:
 * `waiting_for_input`, `status: waiting_for_input` (the dedup id the API's answer uses too), and the lease ends —
 * the job holds no worker. An answer that arrived before the parking (the job still `running`) sends the job
 * straight back to the queue (the job domain's `dispatch.ts` completes the log's tail), so the next claim continues it with
 * `history`. A bad question ends the job with `invalid_input_request`, as for a TypeScript agent.
 */
import { createHash } from 'node:crypto';
import { type AgentEvent, type JobEvent, type TerminalAgentEvent, type Usage } from '@jobstream/contracts';
import { JobLogClosedError, type EventLog, type LoggedEvent } from '@jobstream/event-log';
import type { JobQueue } from '@jobstream/job-queue';
import type { InputRequestRecord, JobRecord, JobStore } from '@jobstream/job-store';
import { dispatchJob } from '@jobstream/job-domain';
import { appendRetrying } from './lease-log.js';
import {
  attemptHistory,
  endCancelled,
  inputRequestProblem,
  invalidInputRequestError,
  requestSchema,
  settleFromLog,
  waitingDedupId,
  type TerminalJobEvent,
  toolCallStartDedupId,
} from './runner-parts.js';
import type { WorkerQuestion } from './worker-outputs.js';

export interface QuestionDeps {
  store: JobStore;
  log: EventLog;
  queue: JobQueue;
  inputTimeoutMs: number;
}

export type Asked =
  /** The question is in the log and the job waits (or went back to the queue, answered already). */
  | { kind: 'asked'; event: LoggedEvent }
  /** The job ended instead (a bad question, a cancel, or it ended elsewhere). */
  | { kind: 'ended'; event: TerminalJobEvent }
  /** The question was refused: the caller ends the job with this event. */
  | { kind: 'refused'; event: TerminalAgentEvent };

export async function askQuestion(
  deps: QuestionDeps,
  job: JobRecord,
  attempt: number,
  q: WorkerQuestion,
  dedupBase: string,
): Promise<Asked> {
  const jobId = job.id;
  const usage: Usage = { ...job.usage };
  const refuse = (message: string): Asked => ({ kind: 'refused', event: invalidInputRequestError(message, usage) });
  const calls = q.tool_calls ?? [];
  const history = await attemptHistory(deps.log, jobId, attempt);
  const problem = inputRequestProblem(q, history);
  if (problem !== null) return refuse(problem);
  // a retried request finds its own question: the same id is generated from the dedup base, not at random
  const request_id = q.request_id ?? `req_${stableSuffix(dedupBase)}`;
  const own = history.find((e) => e.type === 'input_required' && e.request_id === request_id) as
    JobEvent<'input_required'> | undefined;
  if (own && job.input_request?.request_id !== request_id)
    return refuse(`request_id "${request_id}" was already used in this job`);
  const compiled = requestSchema(q.kind, q.schema, calls);
  if ('problem' in compiled) return refuse(compiled.problem);
  const schema = compiled.schema;
  const closed = (err: unknown): Asked => {
    if (err instanceof JobLogClosedError) return { kind: 'ended', event: err.terminal.event as TerminalJobEvent };
    throw err;
  };
  for (const [i, c] of calls.entries()) {
    if (history.some((e) => e.type === 'tool_call_start' && e.call_id === c.call_id)) continue;
    try {
      await appendRetrying(deps.log, jobId, {
        event: { type: 'tool_call_start', call_id: c.call_id, name: c.name, arguments: c.arguments },
        attempt,
        dedupId: toolCallStartDedupId(dedupBase, i),
      });
    } catch (err) {
      return closed(err);
    }
  }
  const expires_at =
    job.input_request?.request_id === request_id
      ? job.input_request.expires_at
      : new Date(Date.now() + deps.inputTimeoutMs).toISOString();
  const asked = {
    request_id,
    kind: q.kind,
    prompt: q.prompt,
    schema,
    ...(calls.length > 0 ? { tool_calls: calls } : {}),
  };
  const record: InputRequestRecord = { ...asked, expires_at, attempt, answer: null, answered_at: null };
  if (job.input_request?.request_id !== request_id) {
    const tr = await deps.store.transition(jobId, 'running', {
      from: ['running'],
      where: (j) => j.attempt === attempt,
      patch: { input_request: record },
    });
    if (!tr.changed)
      return { kind: 'ended', event: await endCancelled(deps, jobId, attempt, tr.job?.cancel_reason ?? '', usage) };
  }
  const event: AgentEvent = { type: 'input_required', ...asked, expires_at };
  let stored: LoggedEvent;
  try {
    stored = await appendRetrying(deps.log, jobId, { event, attempt, dedupId: dedupBase });
  } catch (err) {
    return closed(err);
  }
  const parked = await park(deps, jobId, attempt, request_id, usage);
  return parked ? { kind: 'ended', event: parked } : { kind: 'asked', event: stored };
}

/** Parks the job after its question (see the header); a terminal event when it ended instead, else null. */
async function park(
  deps: QuestionDeps,
  jobId: string,
  attempt: number,
  rid: string,
  usage: Usage,
): Promise<TerminalJobEvent | null> {
  const open = (j: JobRecord) =>
    j.attempt === attempt && j.input_request?.request_id === rid && j.input_request.answer === null;
  const tr = await deps.store.transition(jobId, 'waiting_for_input', {
    from: ['running'],
    where: open,
    patch: { heartbeat_at: null },
  });
  try {
    if (tr.changed && tr.job) {
      await appendRetrying(deps.log, jobId, {
        event: { type: 'status', status: 'waiting_for_input' },
        attempt,
        dedupId: waitingDedupId(jobId, attempt, rid),
      });
      // a cancel that reached the job while it was being parked: nobody else would end it now
      if (tr.job.cancel_reason !== null) return endCancelled(deps, jobId, attempt, tr.job.cancel_reason, usage);
      return null;
    }
    const cur = tr.job;
    const req = cur?.input_request;
    if (cur?.status === 'running' && cur.attempt === attempt && req?.request_id === rid && req.answer !== null) {
      // answered before it was parked: back to the queue, continued by the next claim
      const back = await deps.store.transition(jobId, 'queued', {
        from: ['running'],
        where: (j) => j.attempt === attempt && j.input_request?.request_id === rid && j.input_request.answer !== null,
        patch: { heartbeat_at: null, dispatched_at: null },
      });
      if (back.changed && back.job) await dispatchJob(deps, back.job);
      return null;
    }
    if (cur?.status === 'waiting_for_input' || cur?.status === 'queued') return null; // parked by a retry of ours
    const last = await deps.log.last(jobId);
    if (last && (last.event.type === 'done' || last.event.type === 'error' || last.event.type === 'cancelled')) {
      await settleFromLog({ store: deps.store }, jobId, last.event as TerminalJobEvent);
      return last.event as TerminalJobEvent;
    }
    return endCancelled(deps, jobId, attempt, cur?.cancel_reason ?? '', usage);
  } catch (err) {
    if (err instanceof JobLogClosedError) {
      const t = err.terminal.event as TerminalJobEvent;
      await settleFromLog({ store: deps.store }, jobId, t);
      return t;
    }
    throw err;
  }
}

/** A request id suffix derived from the request's dedup base (stable across retries of the same request). */
function stableSuffix(base: string): string {
  return createHash('sha256').update(base).digest('base64url').slice(0, 22);
}
