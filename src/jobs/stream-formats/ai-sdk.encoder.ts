/**
 * `?format=ai-sdk`: a job's events as the Vercel AI SDK's UI message stream (protocol v1, the one `ai@6` speaks:
 * header `x-vercel-ai-ui-message-stream: v1`, SSE `data: <chunk JSON>` lines, ending with `data: [DONE]`), so a
 * React app's `useChat` (or `readUIMessageStream`) renders a job as one assistant message.
 *
 * Mapping (one encoder per response; it always starts from the job's first event, because the AI SDK's resume
 * replays the whole message):
 * - the first event ⇒ `start` (`messageId` = the job id; `messageMetadata` `{ job_id, attempt }`);
 * - `token` ⇒ `text-start` / `text-delta` / `text-end`; `thinking` ⇒ `reasoning-start` / `-delta` / `-end`. A text
 *   or reasoning part ends when another kind of part begins, so the parts stay in the order the job produced them;
 * - `tool_call_start` ⇒ `tool-input-available` (`dynamic: true`: the tools are the agent's, not typed in the app);
 *   `tool_call_end` ⇒ `tool-output-available` (or `tool-output-error`);
 * - `attempt` ⇒ the message restarts: open parts end and a `start` with a new `messageId` (`<job id>:<attempt>`)
 *   follows, which makes the AI SDK drop the earlier attempt's parts (its reset on a changed message id);
 * - everything else (`status`, `input_required`, `input_received`, `attempt`, the terminal event) ⇒ a
 *   `data-jobstream` part whose `data` is the event JSON; `status` updates one part in place (id `status`), an
 *   input request and its answer share one part (id `input:<request_id>`);
 * - the terminal event ⇒ after its data part: `error` (`errorText`) for a failed job, then `finish` (`finishReason`
 *   `stop` / `error` / `other`, `messageMetadata` with the status and usage) and `[DONE]`.
 */
import type { JobEvent } from '@jobstream/contracts';

export const AI_SDK_STREAM_HEADER = 'x-vercel-ai-ui-message-stream';
export const AI_SDK_PROTOCOL_VERSION = 'v1';

/** One UI message stream chunk (the subset of the AI SDK's `UIMessageChunk` union that jobstream sends). */
export type UiChunk =
  | { type: 'start'; messageId: string; messageMetadata?: Record<string, unknown> }
  | { type: 'text-start' | 'text-end' | 'reasoning-start' | 'reasoning-end'; id: string }
  | { type: 'text-delta' | 'reasoning-delta'; id: string; delta: string }
  | { type: 'tool-input-available'; toolCallId: string; toolName: string; input: unknown; dynamic: true }
  | { type: 'tool-output-available'; toolCallId: string; output: unknown }
  | { type: 'tool-output-error'; toolCallId: string; errorText: string }
  | { type: 'data-jobstream'; id: string; data: JobEvent }
  | { type: 'error'; errorText: string }
  | { type: 'finish'; finishReason: 'stop' | 'error' | 'other'; messageMetadata: Record<string, unknown> };

const frame = (c: UiChunk): string => `data: ${JSON.stringify(c)}\n\n`;
export const AI_SDK_DONE_FRAME = 'data: [DONE]\n\n';

export class AiSdkEncoder {
  private started = false;
  private attempt = 1;
  private open: { kind: 'text' | 'reasoning'; id: string } | null = null;
  private parts = 0;
  /** Tool calls announced in the current message (an output for any other call cannot be shown). */
  private calls = new Set<string>();

  constructor(private readonly jobId: string) {}

  /** The chunks for one event (in order), possibly none. */
  chunks(e: JobEvent): UiChunk[] {
    const out: UiChunk[] = [];
    if (!this.started) {
      this.started = true;
      this.attempt = e.attempt;
      out.push(this.start());
    } else if (e.type === 'attempt') {
      this.close(out);
      this.attempt = e.attempt;
      this.calls = new Set();
      out.push(this.start());
    }
    switch (e.type) {
      case 'token':
      case 'thinking': {
        if (e.text === '') break;
        const kind = e.type === 'token' ? 'text' : 'reasoning';
        if (this.open?.kind !== kind) {
          this.close(out);
          this.open = { kind, id: `${kind === 'text' ? 't' : 'r'}${++this.parts}` };
          out.push({ type: kind === 'text' ? 'text-start' : 'reasoning-start', id: this.open.id });
        }
        out.push({ type: kind === 'text' ? 'text-delta' : 'reasoning-delta', id: this.open.id, delta: e.text });
        break;
      }
      case 'tool_call_start':
        this.close(out);
        this.calls.add(e.call_id);
        out.push({
          type: 'tool-input-available',
          toolCallId: e.call_id,
          toolName: e.name,
          input: e.arguments ?? {},
          dynamic: true,
        });
        break;
      case 'tool_call_end':
        if (!this.calls.has(e.call_id)) {
          out.push(this.data(e, `e${e.seq}`));
          break;
        }
        this.close(out);
        this.calls.delete(e.call_id);
        out.push(
          e.error !== undefined
            ? { type: 'tool-output-error', toolCallId: e.call_id, errorText: e.error }
            : { type: 'tool-output-available', toolCallId: e.call_id, output: e.result },
        );
        break;
      case 'status':
        out.push(this.data(e, 'status'));
        break;
      case 'input_required':
      case 'input_received':
        this.close(out);
        out.push(this.data(e, `input:${e.request_id}`));
        break;
      case 'attempt':
        out.push(this.data(e, `e${e.seq}`));
        break;
      case 'done':
      case 'error':
      case 'cancelled': {
        this.close(out);
        out.push(this.data(e, `e${e.seq}`));
        if (e.type === 'error') out.push({ type: 'error', errorText: `${e.code}: ${e.message}` });
        const status = e.type === 'done' ? 'completed' : e.type === 'error' ? 'failed' : 'cancelled';
        out.push({
          type: 'finish',
          finishReason: e.type === 'done' ? 'stop' : e.type === 'error' ? 'error' : 'other',
          messageMetadata: { job_id: this.jobId, attempt: this.attempt, status, usage: e.usage },
        });
        break;
      }
    }
    return out;
  }

  /** The SSE frames for one event; after the terminal event they end with `[DONE]`. */
  frames(e: JobEvent): string {
    let s = '';
    for (const c of this.chunks(e)) s += frame(c);
    if (e.type === 'done' || e.type === 'error' || e.type === 'cancelled') s += AI_SDK_DONE_FRAME;
    return s;
  }

  private start(): UiChunk {
    const messageId = this.attempt > 1 ? `${this.jobId}:${this.attempt}` : this.jobId;
    return { type: 'start', messageId, messageMetadata: { job_id: this.jobId, attempt: this.attempt } };
  }

  private data(e: JobEvent, id: string): UiChunk {
    return { type: 'data-jobstream', id, data: e };
  }

  private close(out: UiChunk[]): void {
    if (!this.open) return;
    out.push({ type: this.open.kind === 'text' ? 'text-end' : 'reasoning-end', id: this.open.id });
    this.open = null;
  }
}
