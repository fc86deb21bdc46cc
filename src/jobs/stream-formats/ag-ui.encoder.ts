/**
 * `?format=ag-ui`: a job's events as AG-UI events (`@ag-ui/core` 1.0), the protocol of CopilotKit, assistant-ui and
 * `@ag-ui/client`'s `HttpAgent`. One encoder per response; it reads the job from its first event (ids of messages and
 * runs are derived from the log, so every reader sees the same ones).
 *
 * Mapping (docs/ag-ui.md has the table):
 * - the first event ⇒ `RUN_STARTED`; an `input_received` after a run ended on a question ⇒ a new `RUN_STARTED`;
 * - `token` ⇒ `TEXT_MESSAGE_START/CONTENT/END`; `thinking` ⇒ `REASONING_START`, `REASONING_MESSAGE_START/CONTENT/END`,
 *   `REASONING_END`; a message ends when another kind of output begins;
 * - `tool_call_start` ⇒ `TOOL_CALL_START`, `TOOL_CALL_ARGS` (the arguments' JSON), `TOOL_CALL_END` (arguments arrive
 *   whole); `tool_call_end` ⇒ `TOOL_CALL_RESULT` — except for calls the client ran itself: their result is the
 *   client's own tool message, which it already holds;
 * - `input_required` ⇒ `RUN_FINISHED`: for `tool_results` a success naming the calls in `pendingToolCallIds` (AG-UI's
 *   frontend tools: the next run's tool messages answer them); otherwise the `interrupt` outcome with one interrupt
 *   (`id` = `request_id`, `reason` = kind, `message`, `responseSchema`, `expiresAt`);
 * - `attempt` ⇒ open messages end, a `CUSTOM` `jobstream.attempt` says the earlier attempt's output is void, and the
 *   new attempt's messages get new ids;
 * - `done` ⇒ `RUN_FINISHED` (success, `result` = the output, `usage`); `error` / `cancelled` ⇒ `RUN_ERROR`;
 * - `status` ⇒ nothing.
 */
import type { JobEvent, Usage } from '@jobstream/contracts';

/** The AG-UI events jobstream sends (a subset of `@ag-ui/core`'s `EventSchema`; field names as there). */
export type AgUiEvent = { timestamp?: number } & (
  | { type: 'RUN_STARTED'; threadId: string; runId: string }
  | {
      type: 'RUN_FINISHED';
      threadId: string;
      runId: string;
      result?: unknown;
      outcome: AgUiRunOutcome;
      usage?: AgUiUsage[];
    }
  | { type: 'RUN_ERROR'; message: string; code: string; usage?: AgUiUsage[] }
  | { type: 'TEXT_MESSAGE_START'; messageId: string; role: 'assistant' }
  | { type: 'TEXT_MESSAGE_CONTENT' | 'REASONING_MESSAGE_CONTENT'; messageId: string; delta: string }
  | { type: 'TEXT_MESSAGE_END' | 'REASONING_START' | 'REASONING_MESSAGE_END' | 'REASONING_END'; messageId: string }
  | { type: 'REASONING_MESSAGE_START'; messageId: string; role: 'reasoning' }
  | { type: 'TOOL_CALL_START'; toolCallId: string; toolCallName: string; parentMessageId?: string }
  | { type: 'TOOL_CALL_ARGS'; toolCallId: string; delta: string }
  | { type: 'TOOL_CALL_END'; toolCallId: string }
  | { type: 'TOOL_CALL_RESULT'; messageId: string; toolCallId: string; content: string; role: 'tool' }
  | { type: 'CUSTOM'; name: string; value: unknown }
);
export type AgUiEventType = AgUiEvent['type'];

export type AgUiRunOutcome =
  | { type: 'success'; pendingToolCallIds?: string[] }
  | {
      type: 'interrupt';
      interrupts: {
        id: string;
        reason: string;
        message?: string;
        responseSchema?: Record<string, unknown>;
        expiresAt?: string;
      }[];
    };

export interface AgUiUsage {
  inputTokens: number;
  outputTokens: number;
  totalTokens: number;
}

export interface AgUiEncoderOptions {
  /** AG-UI's `threadId` of every run. */
  threadId: string;
  /** The first run's id (later runs of the job: `<first>.<n>`, n = 1, 2 …). */
  runId: string;
}

const toUsage = (u: Usage): AgUiUsage[] => [
  { inputTokens: u.input_tokens, outputTokens: u.output_tokens, totalTokens: u.input_tokens + u.output_tokens },
];

export class AgUiEncoder {
  private runs = 0;
  private inRun = false;
  /** A run name set from outside for the next run (the POST that answered the question names its own). */
  private nextRunName: string | null = null;
  private runId = '';
  private attempt = 1;
  private parts = 0;
  private open: { kind: 'text' | 'reasoning'; id: string } | null = null;
  /** The current attempt's latest text message (the parent of a tool call that follows it). */
  private lastText: string | null = null;
  /** Calls the client was asked to run: their results are the client's own tool messages. */
  private readonly clientCalls = new Set<string>();
  private ended = false;

  constructor(
    private readonly jobId: string,
    private readonly opts: AgUiEncoderOptions,
  ) {}

  /** Names the next run that starts (instead of `<first>.<n>`). */
  nameNextRun(runId: string): void {
    this.nextRunName = runId;
  }

  /** True between `RUN_STARTED` and the run's end. */
  get running(): boolean {
    return this.inRun;
  }

  /** The AG-UI events for one job event, in order (possibly none). */
  events(e: JobEvent): AgUiEvent[] {
    const out: AgUiEvent[] = [];
    if (this.ended) return out;
    const timestamp = Date.parse(e.ts);
    const push = (ev: AgUiEvent) => out.push(Number.isFinite(timestamp) ? { ...ev, timestamp } : ev);
    if (this.runs === 0 || (e.type === 'input_received' && !this.inRun)) this.startRun(push);
    switch (e.type) {
      case 'token':
      case 'thinking': {
        if (e.text === '') break;
        const kind = e.type === 'token' ? 'text' : 'reasoning';
        if (this.open?.kind !== kind) {
          this.close(push);
          const id = `${this.jobId}:${this.attempt}:${kind === 'text' ? 'm' : 'r'}${++this.parts}`;
          this.open = { kind, id };
          if (kind === 'text') {
            this.lastText = id;
            push({ type: 'TEXT_MESSAGE_START', messageId: id, role: 'assistant' });
          } else {
            push({ type: 'REASONING_START', messageId: id });
            push({ type: 'REASONING_MESSAGE_START', messageId: id, role: 'reasoning' });
          }
        }
        const messageId = this.open.id;
        push({
          type: kind === 'text' ? 'TEXT_MESSAGE_CONTENT' : 'REASONING_MESSAGE_CONTENT',
          messageId,
          delta: e.text,
        });
        break;
      }
      case 'tool_call_start': {
        this.close(push);
        const start: AgUiEvent = { type: 'TOOL_CALL_START', toolCallId: e.call_id, toolCallName: e.name };
        if (this.lastText !== null) start.parentMessageId = this.lastText;
        push(start);
        push({ type: 'TOOL_CALL_ARGS', toolCallId: e.call_id, delta: JSON.stringify(e.arguments ?? {}) });
        push({ type: 'TOOL_CALL_END', toolCallId: e.call_id });
        break;
      }
      case 'tool_call_end': {
        if (this.clientCalls.has(e.call_id)) break;
        this.close(push);
        const content =
          e.error !== undefined
            ? JSON.stringify({ error: e.error })
            : typeof e.result === 'string'
              ? e.result
              : JSON.stringify(e.result ?? null);
        push({
          type: 'TOOL_CALL_RESULT',
          messageId: `${e.call_id}:result`,
          toolCallId: e.call_id,
          content,
          role: 'tool',
        });
        break;
      }
      case 'attempt':
        this.close(push);
        this.attempt = e.attempt;
        this.lastText = null;
        push({ type: 'CUSTOM', name: 'jobstream.attempt', value: { attempt: e.attempt, reason: e.reason } });
        break;
      case 'input_required': {
        this.close(push);
        if (!this.inRun) break;
        const outcome: AgUiRunOutcome =
          e.kind === 'tool_results'
            ? { type: 'success', pendingToolCallIds: (e.tool_calls ?? []).map((c) => c.call_id) }
            : {
                type: 'interrupt',
                interrupts: [
                  {
                    id: e.request_id,
                    reason: e.kind ?? 'input',
                    ...(e.prompt !== '' ? { message: e.prompt } : {}),
                    ...(e.schema !== undefined ? { responseSchema: e.schema } : {}),
                    ...(e.expires_at !== undefined ? { expiresAt: e.expires_at } : {}),
                  },
                ],
              };
        for (const c of e.tool_calls ?? []) this.clientCalls.add(c.call_id);
        push({ type: 'RUN_FINISHED', threadId: this.opts.threadId, runId: this.runId, outcome });
        this.inRun = false;
        break;
      }
      case 'done':
        this.close(push);
        push({
          type: 'RUN_FINISHED',
          threadId: this.opts.threadId,
          runId: this.runId,
          result: e.output,
          outcome: { type: 'success' },
          usage: toUsage(e.usage),
        });
        this.end();
        break;
      case 'error':
      case 'cancelled':
        this.close(push);
        push(
          e.type === 'error'
            ? { type: 'RUN_ERROR', message: e.message, code: e.code, usage: toUsage(e.usage) }
            : { type: 'RUN_ERROR', message: `cancelled: ${e.reason}`, code: 'cancelled', usage: toUsage(e.usage) },
        );
        this.end();
        break;
      case 'status':
      case 'input_received':
        break;
    }
    return out;
  }

  private startRun(push: (e: AgUiEvent) => void): void {
    this.runId = this.nextRunName ?? (this.runs === 0 ? this.opts.runId : `${this.opts.runId}.${this.runs}`);
    this.nextRunName = null;
    this.runs++;
    this.inRun = true;
    this.lastText = null;
    push({ type: 'RUN_STARTED', threadId: this.opts.threadId, runId: this.runId });
  }

  private end(): void {
    this.inRun = false;
    this.ended = true;
  }

  private close(push: (e: AgUiEvent) => void): void {
    const o = this.open;
    if (!o) return;
    this.open = null;
    if (o.kind === 'text') push({ type: 'TEXT_MESSAGE_END', messageId: o.id });
    else {
      push({ type: 'REASONING_MESSAGE_END', messageId: o.id });
      push({ type: 'REASONING_END', messageId: o.id });
    }
  }
}
