/**
 * `POST /v1/ag-ui/:agent`: one AG-UI run on a jobstream thread. The run's `threadId` names a thread of the tenant
 * (created on first use, `external_id` = that threadId); what the run does depends on what it carries:
 * - `resume` entries ⇒ they answer the thread's open question (the job's input; `cancelled` cancels the job); the
 *   response is the run that the answer opens;
 * - tool messages answering the calls the job waits for (frontend tools) ⇒ the same, as a `tool_results` answer;
 * - otherwise ⇒ a new turn, its input from the messages since the last turn (agent-inputs.ts), idempotent on `runId`
 *   (a retried run gets the same job), `if_busy` from `forwardedProps` (default `reject`).
 * Everything is checked before anything is created: a bad input is a 4xx and leaves no thread and no job.
 */
import { Inject, Injectable, Optional } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { newThreadId } from '@jobstream/contracts';
import type { JobRecord } from '@jobstream/job-store';
import { newThreadRecord, type ThreadRecord, type ThreadStore } from '@jobstream/thread-store';
import { ApiError } from '../common/api-error.js';
import { AgentCatalogService } from '../agents/agent-catalog.service.js';
import { THREAD_STORE } from '../engine/engine.constants.js';
import { JobInputService } from '../jobs/job-input.service.js';
import { JobsService } from '../jobs/jobs.service.js';
import { Quotas } from '../quotas/quotas.service.js';
import type { AgUiWindow } from '../jobs/stream-formats/ag-ui.render.js';
import { ThreadsService } from '../threads/threads.service.js';
import { turnInput } from './agent-inputs.js';
import { newMessages, toolResultOf, type AgUiMessage, type RunAgentInput } from './run-agent-input.js';

/** What the controller streams: the job, and which part of it is this run. */
export interface AgUiRun {
  job: JobRecord;
  window: AgUiWindow;
}

export const RESUME_CANCELLED_REASON = 'interrupt_cancelled';

@Injectable()
export class AgUiService {
  constructor(
    @Inject(THREAD_STORE) private readonly threads: ThreadStore,
    private readonly threadsService: ThreadsService,
    private readonly jobs: JobsService,
    private readonly inputs: JobInputService,
    private readonly agents: AgentCatalogService,
    @Optional() private readonly quotas?: Quotas,
  ) {}

  async run(tenant: string, agent: string, input: RunAgentInput): Promise<AgUiRun> {
    await this.agents.require(agent); // 400 unknown_agent: the catalogue of announced agents
    if (input.resume && input.resume.length > 0) return this.resume(tenant, agent, input);
    const tools = newMessages(input.messages).filter((m): m is AgUiMessage & { role: 'tool' } => m.role === 'tool');
    if (tools.length > 0 && !newMessages(input.messages).some((m) => m.role === 'user')) {
      return this.toolResults(tenant, agent, input, tools);
    }
    const turn = turnInput(agent, input.messages, input.tools, input.forwardedProps?.input);
    await this.agents.validateInput(agent, turn); // before the thread is created

    const fresh = newThreadRecord({ id: newThreadId(), tenant, agent, metadata: null, external_id: input.threadId });
    const named = fresh as ThreadRecord & { external_id: string };
    // a first use makes a thread: held to the tenant's threads quota
    const { thread } = this.quotas
      ? await this.quotas.enforce(() => this.threads.ensureExternal(named, this.quotas!.maxThreads))
      : await this.threads.ensureExternal(named);
    this.sameAgent(thread, agent);
    const { job } = await this.threadsService.createTurn(
      tenant,
      thread.id,
      {
        input: turn,
        if_busy: input.forwardedProps?.if_busy ?? 'reject',
        metadata: { ag_ui: { thread_id: input.threadId, run_id: input.runId } },
      },
      `ag-ui:${createHash('sha256').update(input.runId).digest('hex')}`,
    );
    return { job: await this.jobs.record(tenant, job.id), window: { oneRun: true } };
  }

  /** `resume` entries answer the open question of the thread's active job. */
  private async resume(tenant: string, agent: string, input: RunAgentInput): Promise<AgUiRun> {
    const job = await this.waitingJob(tenant, agent, input.threadId);
    const open = job.input_request!;
    if (input.resume!.length !== 1 || input.resume![0]!.interruptId !== open.request_id) {
      throw new ApiError(409, 'not_waiting', `resume must answer exactly the open interrupt ${open.request_id}`);
    }
    const entry = input.resume![0]!;
    const window: AgUiWindow = { oneRun: true, fromAnswer: { requestId: open.request_id, runId: input.runId } };
    if (entry.status === 'cancelled') {
      // the response is the job's end (RUN_ERROR): the render opens on a terminal event that comes before an answer
      await this.jobs.cancel(tenant, job.id, RESUME_CANCELLED_REASON);
      return { job, window };
    }
    const payload = entry.payload ?? {};
    if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
      throw ApiError.invalid('resume/0/payload: must be an object (the answer to the interrupt)');
    }
    await this.inputs.input(tenant, job.id, {
      request_id: open.request_id,
      input: payload as Record<string, unknown>,
    });
    return { job, window };
  }

  /** Tool messages since the last turn answer the client-side tool calls the job waits for. */
  private async toolResults(
    tenant: string,
    agent: string,
    input: RunAgentInput,
    tools: (AgUiMessage & { role: 'tool' })[],
  ): Promise<AgUiRun> {
    const job = await this.waitingJob(tenant, agent, input.threadId);
    const open = job.input_request!;
    if (open.kind !== 'tool_results' || !open.tool_calls) {
      throw new ApiError(409, 'not_waiting', `the open request ${open.request_id} is not for tool results`);
    }
    const byCall = new Map(tools.map((m) => [m.toolCallId, m]));
    const results = open.tool_calls.map((c) => {
      const m = byCall.get(c.call_id);
      if (!m) throw ApiError.invalid(`messages: no tool message answers the call ${c.call_id}`);
      return { call_id: c.call_id, ...toolResultOf(m) };
    });
    await this.inputs.input(tenant, job.id, { request_id: open.request_id, input: { results } });
    return { job, window: { oneRun: true, fromAnswer: { requestId: open.request_id, runId: input.runId } } };
  }

  /** The thread's active job with an open question (else 409 not_waiting; an unknown thread is a 404). */
  private async waitingJob(tenant: string, agent: string, threadId: string): Promise<JobRecord> {
    const thread = await this.threads.getExternal(tenant, threadId);
    if (!thread) throw ApiError.notFound('thread');
    this.sameAgent(thread, agent);
    const jobId = thread.active_job_id ?? thread.last_job_id;
    const job = jobId ? await this.jobs.record(tenant, jobId) : null;
    if (!job?.input_request) throw new ApiError(409, 'not_waiting', `thread ${threadId} waits for no answer`);
    return job;
  }

  private sameAgent(thread: ThreadRecord, agent: string): void {
    if (thread.agent !== agent) {
      throw new ApiError(409, 'conflict', `thread belongs to agent "${thread.agent}", not "${agent}"`);
    }
  }
}
