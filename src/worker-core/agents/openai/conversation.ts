/**
 * The chat messages the `openai` agent sends, in OpenAI's wire format (the job's input is already in it): a thread's
 * earlier turns, the input's messages, and the rounds of client tool calls answered so far in this attempt.
 */
import { turnInputText, type ConversationTurn, type JobEvent, type OpenAiInput } from '@jobstream/contracts';
import { requestsIn } from '../history.js';

/** The text of `tool_call_end.error` for a call the platform did not execute. */
export const TOOL_NOT_EXECUTED =
  'not executed: the platform runs no tools (mark a tool "client": true to run it in the client)';

/**
 * A thread's earlier turns as chat messages: each turn's own messages (or its prompt as a user message), then the
 * assistant's final text when the turn completed.
 */
export function historyMessages(history: readonly ConversationTurn[]): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const t of history) {
    const msgs = t.input['messages'];
    if (Array.isArray(msgs)) out.push(...(msgs as Record<string, unknown>[]));
    else out.push({ role: 'user', content: turnInputText(t.input) });
    if (t.output_text !== null) out.push({ role: 'assistant', content: t.output_text });
  }
  return out;
}

/**
 * The conversation to send: the input's messages, then for every earlier round of this attempt (a completion that
 * ended in client tool calls, answered with `input_received`) the assistant message and one `tool` message per call.
 */
export function conversationOf(input: OpenAiInput, history: readonly JobEvent[]): unknown[] {
  const messages: unknown[] = [...(input.messages ?? [{ role: 'user', content: input.prompt }])];
  const answers = new Map(requestsIn(history).map((r) => [r.request.request_id, r.answer]));
  let text = '';
  let calls: JobEvent<'tool_call_start'>[] = [];
  const errors = new Map<string, string>();
  for (const e of history) {
    if (e.type === 'token') text += (e as JobEvent<'token'>).text;
    else if (e.type === 'tool_call_start') calls.push(e as JobEvent<'tool_call_start'>);
    else if (e.type === 'tool_call_end' && (e as JobEvent<'tool_call_end'>).error !== undefined) {
      errors.set((e as JobEvent<'tool_call_end'>).call_id, (e as JobEvent<'tool_call_end'>).error!);
    } else if (e.type === 'input_received') {
      const answer = answers.get((e as JobEvent<'input_received'>).request_id) ?? {};
      const results = Array.isArray(answer['results'])
        ? (answer['results'] as { call_id?: unknown; result?: unknown; error?: unknown }[])
        : [];
      messages.push({
        role: 'assistant',
        content: text === '' ? null : text,
        tool_calls: calls.map((c) => ({
          id: c.call_id,
          type: 'function',
          function: {
            name: c.name,
            arguments: typeof c.arguments === 'string' ? c.arguments : JSON.stringify(c.arguments ?? {}),
          },
        })),
      });
      for (const c of calls) {
        const r = results.find((x) => x.call_id === c.call_id);
        const content =
          r === undefined
            ? (errors.get(c.call_id) ?? TOOL_NOT_EXECUTED)
            : typeof r.error === 'string'
              ? `error: ${r.error}`
              : typeof r.result === 'string'
                ? r.result
                : JSON.stringify(r.result ?? null);
        messages.push({ role: 'tool', tool_call_id: c.call_id, content });
      }
      text = '';
      calls = [];
      errors.clear();
    }
  }
  return messages;
}
