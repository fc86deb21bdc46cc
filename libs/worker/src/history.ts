/**
 * Helpers for agents that continue a job after an answer: read what the current attempt already did from
 * `ctx.history` (see docs/agents.md).
 */
import type { JobEvent } from '@jobstream/contracts';

export interface AskedRequest {
  /** The `input_required` event as it is in the log. */
  request: JobEvent<'input_required'>;
  /** The accepted answer, or null while unanswered. */
  answer: Record<string, unknown> | null;
}

/** Every question the attempt asked, in order, with its answer. */
export function requestsIn(history: readonly JobEvent[]): AskedRequest[] {
  const out: AskedRequest[] = [];
  const byId = new Map<string, AskedRequest>();
  for (const e of history) {
    if (e.type === 'input_required') {
      const r = { request: e as JobEvent<'input_required'>, answer: null };
      out.push(r);
      byId.set(e.request_id, r);
    } else if (e.type === 'input_received') {
      const r = byId.get(e.request_id);
      if (r) r.answer = e.input;
    }
  }
  return out;
}

/** How many events of `type` the history holds. */
export function countIn(history: readonly JobEvent[], type: JobEvent['type']): number {
  let n = 0;
  for (const e of history) if (e.type === type) n++;
  return n;
}

/** The concatenated `token` text of the history. */
export function tokenTextIn(history: readonly JobEvent[]): string {
  let text = '';
  for (const e of history) if (e.type === 'token') text += (e as JobEvent<'token'>).text;
  return text;
}

/** Whether the history holds a `tool_call_end` for this call. */
export function toolCallEnded(history: readonly JobEvent[], callId: string): boolean {
  return history.some((e) => e.type === 'tool_call_end' && (e as JobEvent<'tool_call_end'>).call_id === callId);
}

/**
 * How many of `tokens` (repeated `repeat` times) the history's token text covers, counted by text (never by events:
 * the platform may split a long token into several events, or carry several tokens in one).
 */
export function tokensCoveredIn(history: readonly JobEvent[], tokens: readonly string[], repeat: number): number {
  let chars = 0;
  for (const e of history) if (e.type === 'token') chars += (e as JobEvent<'token'>).text.length;
  let n = 0;
  for (let r = 0; r < repeat && chars > 0; r++) {
    for (let i = 0; i < tokens.length && chars > 0; i++) {
      if (chars < tokens[i]!.length) return n; // a token whose text is only partly there was not completed
      chars -= tokens[i]!.length;
      n++;
    }
  }
  return n;
}
