/**
 * Questions: an agent's `input_required` is completed (request id, schema, deadline), its schema compiled once,
 * recorded on the job record and appended; then the job moves to `waiting_for_input`, `status: waiting_for_input`
 * is appended, and the runner lets go of it (the queue message is acked: no slot, no heartbeat). If the answer
 * arrived while the runner still held the job, it goes on at once instead. An answer given later re-dispatches the
 * job (`queued`); the runner that gets it reads the current attempt's events from the log (`attemptHistory` of the job domain) and
 * calls the agent again with them as `ctx.history` — same attempt, nothing re-emitted.
 */
import {
  InvalidEventError,
  isTerminalEvent,
  newJobId,
  type AgentEvent,
  type AgentEventOf,
  type JobEvent,
  type TerminalAgentEvent,
  type Usage,
} from '@jobstream/contracts';
import { JobLogClosedError, type LoggedEvent } from '@jobstream/event-log';
import {
  inputReceivedDedupId,
  inputRequestProblem,
  invalidInputRequestError,
  requestSchema,
  runningDedupId,
  toolCallStartDedupId,
  waitingDedupId,
  type TerminalJobEvent,
} from '@jobstream/job-domain';
import type { InputRequestRecord, JobRecord } from '@jobstream/job-store';
import type { AgentInputRequest } from '../agent.js';
import type { RunnerCore } from './core.js';
import type { Running } from './deliveries.js';

/** A prepared question, or how the job ends instead: a terminal event to append, or the one the log holds. */
export type PreparedRequest =
  | { event: AgentEvent }
  | { terminal: { kind: 'pending'; event: TerminalAgentEvent } | { kind: 'ended'; event: TerminalJobEvent } };

/**
 * Completes an agent's question into the `input_required` event (request id, kind, schema, deadline), announces
 * tool calls that the agent did not announce, and records the request on the job record — before the event is
 * appended, so that an answer sent the moment a client sees the event finds it. A bad request ends the job.
 */
export async function prepareRequest(
  core: RunnerCore,
  job: JobRecord,
  attempt: number,
  out: AgentInputRequest | AgentEventOf<'input_required'>,
  history: JobEvent[],
  usage: Usage,
  outputId: string,
): Promise<PreparedRequest> {
  const jobId = job.id;
  const invalid = (message: string): PreparedRequest => ({
    terminal: { kind: 'pending', event: invalidInputRequestError(message, usage) },
  });
  const kind = out.kind;
  if (!kind) return invalid('an input_required needs a kind (approval, text or tool_results)');
  const refused = inputRequestProblem({ ...out, kind }, history);
  if (refused !== null) return invalid(refused);
  const calls = out.tool_calls ?? [];
  const request_id = out.request_id ?? `req_${newJobId().slice(4)}`;
  if (history.some((e) => e.type === 'input_required' && e.request_id === request_id)) {
    return invalid(`request_id "${request_id}" was already used in this job`);
  }
  const compiled = requestSchema(kind, out.schema, calls);
  if ('problem' in compiled) return invalid(compiled.problem);
  const schema = compiled.schema;
  const expires_at = new Date(Date.now() + (core.opts.inputTimeoutMs ?? 86_400_000)).toISOString();
  // The contract: each requested tool call is announced by its own tool_call_start first.
  for (const [i, c] of calls.entries()) {
    const started = history.some((e) => e.type === 'tool_call_start' && e.call_id === c.call_id);
    if (started) continue;
    try {
      const stored = await core.log.append(jobId, {
        event: { type: 'tool_call_start', call_id: c.call_id, name: c.name, arguments: c.arguments },
        attempt,
        dedupId: toolCallStartDedupId(outputId, i),
      });
      history.push(stored.event);
    } catch (err) {
      if (err instanceof JobLogClosedError)
        return { terminal: { kind: 'ended', event: err.terminal.event as TerminalJobEvent } };
      if (err instanceof InvalidEventError) return invalid(err.message);
      throw err;
    }
  }
  const asked = { request_id, kind, prompt: out.prompt, schema, ...(calls.length > 0 ? { tool_calls: calls } : {}) };
  const record: InputRequestRecord = { ...asked, expires_at, attempt, answer: null, answered_at: null };
  const tr = await core.store.transition(jobId, 'running', {
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
  return { event: { type: 'input_required', ...asked, expires_at } };
}

/** Runs an append; a closed log answers with its terminal event instead. */
async function unlessClosed(fn: () => Promise<LoggedEvent>): Promise<LoggedEvent | TerminalJobEvent> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof JobLogClosedError) return err.terminal.event as TerminalJobEvent;
    throw err;
  }
}

/**
 * After a question was appended: `status: waiting_for_input`, then the job moves to `waiting_for_input` unless
 * it was answered meanwhile ('continue': the answer is appended and the agent goes on here) or cancelled.
 */
export async function park(
  core: RunnerCore,
  jobId: string,
  attempt: number,
  asked: JobEvent<'input_required'>,
  usage: Usage,
  state: Running,
  history: JobEvent[],
): Promise<'parked' | 'continue' | TerminalJobEvent> {
  const rid = asked.request_id;
  // The store first: from the moment a client can see `status: waiting_for_input`, the job IS waiting (a
  // cancel ends it at once; a worker that dies now leaves nothing behind). The status event follows, with a
  // dedup id the API uses too: an answer that comes first appends it itself, so the log keeps its order.
  const open = (j: JobRecord) =>
    j.attempt === attempt && j.input_request?.request_id === rid && j.input_request.answer === null;
  const tr = await core.store.transition(jobId, 'waiting_for_input', {
    from: ['running'],
    where: open,
    patch: { usage: { ...usage }, heartbeat_at: null },
  });
  if (tr.changed && tr.job) {
    state.parked = true;
    core.opts.metrics?.jobTransition('waiting_for_input');
    const w = await unlessClosed(() =>
      core.log.append(jobId, {
        event: { type: 'status', status: 'waiting_for_input' },
        attempt,
        dedupId: waitingDedupId(jobId, attempt, rid),
      }),
    );
    if (!('pos' in w)) return w;
    if (tr.job.cancel_reason !== null || state.cancelReason !== null) {
      // a cancel that reached the job while it was being parked: nobody else would end it now
      const reason = state.cancelReason ?? tr.job.cancel_reason ?? '';
      return core.ending.endCancelled(jobId, attempt, reason, usage);
    }
    core.logger.log({ msg: 'job waits for input; worker released', job_id: jobId, request_id: rid });
    return 'parked';
  }
  const cur = tr.job;
  const req = cur?.input_request;
  if (cur && cur.status === 'running' && cur.attempt === attempt && req?.request_id === rid && req.answer !== null) {
    // Answered while this runner still held the job: append the answer and go on here.
    const answer = req.answer;
    const got = await unlessClosed(() =>
      core.log.append(jobId, {
        event: { type: 'input_received', request_id: rid, input: answer },
        attempt,
        dedupId: inputReceivedDedupId(jobId, rid),
      }),
    );
    if (!('pos' in got)) return got;
    history.push(got.event);
    const s = await unlessClosed(() =>
      core.log.append(jobId, {
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
  const last = await core.log.last(jobId);
  if (last && isTerminalEvent(last.event)) return last.event as TerminalJobEvent;
  return core.ending.endCancelled(jobId, attempt, cur?.cancel_reason ?? state.cancelReason ?? '', usage);
}
