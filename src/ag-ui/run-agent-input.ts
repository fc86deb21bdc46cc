/**
 * AG-UI's `RunAgentInput` as `POST /v1/ag-ui/:agent` accepts it (the fields of `@ag-ui/core` 1.0 that jobstream
 * reads, checked; the others — `state`, `context`, `parentRunId`, a message's `metadata` … — accepted and ignored),
 * and what it means for a thread: a new turn, an answer to the open question, or the results of client-side tools.
 */
import { z } from 'zod';

const id = z.string().min(1).max(256);
const textPart = z.looseObject({ type: z.literal('text'), text: z.string() });
const content = z.union([z.string(), z.array(z.looseObject({ type: z.string() }))]);

const message = z.discriminatedUnion('role', [
  z.looseObject({ id, role: z.enum(['user', 'system', 'developer']), content }),
  z.looseObject({ id, role: z.literal('assistant'), content: z.string().nullish() }),
  z.looseObject({ id, role: z.literal('tool'), content, toolCallId: id, error: z.string().optional() }),
  z.looseObject({ id, role: z.enum(['reasoning', 'activity']) }),
]);
export type AgUiMessage = z.infer<typeof message>;

const tool = z.looseObject({
  name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'letters, digits, _ and -, at most 64'),
  description: z.string().max(4096),
  parameters: z.record(z.string(), z.unknown()).optional(),
});
export type AgUiTool = z.infer<typeof tool>;

export const runAgentInputSchema = z.looseObject({
  threadId: id,
  runId: id,
  messages: z.array(message).max(10_000),
  tools: z.array(tool).max(128).default([]),
  context: z.array(z.unknown()).max(1_000).default([]),
  forwardedProps: z
    .looseObject({
      /** Merged into the agent's input (echo's `ask`, `delay_ms`, `client_tool` …). */
      input: z.record(z.string(), z.unknown()).optional(),
      if_busy: z.enum(['reject', 'interrupt', 'enqueue']).optional(),
    })
    .nullish(),
  resume: z
    .array(
      z.looseObject({ interruptId: id, status: z.enum(['resolved', 'cancelled']), payload: z.unknown().optional() }),
    )
    .max(16)
    .optional(),
});
export type RunAgentInput = z.infer<typeof runAgentInputSchema>;

/** The messages since the last turn: those after the last assistant (or reasoning / activity) message. */
export function newMessages(messages: AgUiMessage[]): AgUiMessage[] {
  let i = messages.length;
  while (i > 0 && ['user', 'system', 'developer', 'tool'].includes(messages[i - 1]!.role)) i--;
  return messages.slice(i);
}

/** A message's text: the string, or its text parts joined. */
export function textOf(m: AgUiMessage): string {
  if (!('content' in m) || m.content === null || m.content === undefined) return '';
  if (typeof m.content === 'string') return m.content;
  return (m.content as unknown[])
    .map((p) => {
      const t = textPart.safeParse(p);
      return t.success ? t.data.text : '';
    })
    .join('');
}

/** A tool message's content as the result a job receives: its JSON when it is JSON, else the text. */
export function toolResultOf(m: AgUiMessage & { role: 'tool' }): { result: unknown } | { error: string } {
  if (m.error !== undefined) return { error: m.error };
  const text = textOf(m);
  try {
    return { result: JSON.parse(text) as unknown };
  } catch {
    return { result: text };
  }
}
