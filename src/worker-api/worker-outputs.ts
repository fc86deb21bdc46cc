/**
 * The check of a batch an HTTP worker appends, before anything of it is appended: each output has the shape a
 * TypeScript agent yields (the contracts' event schemas; a question may leave `request_id` to the platform), the
 * platform's own types are refused, a terminal output or a question closes the batch, and no output is over
 * MAX_EVENT_BYTES once the caps have split what they can. A refusal names the failing path (`[3].text: …`).
 * Then {@link coalesceOutputs} merges the batch's consecutive token/thinking outputs of one type.
 */
import { z } from 'zod';
import { INPUT_KINDS, parseAgentEvent, requestedToolCallSchema, type AgentEvent } from '@jobstream/contracts';
import { capEvent, coalesceTextEvents } from './runner-parts.js';

/** Most outputs in one request. */
export const MAX_BATCH_OUTPUTS = 1_000;

const AGENT_OUTPUT_TYPES = new Set([
  'token',
  'thinking',
  'tool_call_start',
  'tool_call_end',
  'input_required',
  'done',
  'error',
  'cancelled',
]);

/** A question as a worker sends it: the platform completes `request_id` (when absent), the schema and the deadline. */
const questionSchema = z.strictObject({
  type: z.literal('input_required'),
  request_id: z.string().min(1).max(512).optional(),
  kind: z.enum(INPUT_KINDS),
  prompt: z.string(),
  schema: z.record(z.string(), z.unknown()).optional(),
  tool_calls: z.array(requestedToolCallSchema).optional(),
});
export type WorkerQuestion = z.infer<typeof questionSchema>;

export type WorkerOutput = { question: WorkerQuestion } | { event: AgentEvent };

export class OutputRefused extends Error {
  override readonly name = 'OutputRefused';
  constructor(
    readonly status: 400 | 413,
    message: string,
  ) {
    super(message);
  }
}

/** Checks a request body; throws {@link OutputRefused} naming the first bad output. */
export function checkOutputs(body: unknown, maxEventBytes: number): WorkerOutput[] {
  if (!Array.isArray(body)) throw new OutputRefused(400, 'the body must be a JSON array of agent outputs');
  if (body.length === 0) throw new OutputRefused(400, 'the batch is empty: send at least one output');
  if (body.length > MAX_BATCH_OUTPUTS)
    throw new OutputRefused(413, `at most ${MAX_BATCH_OUTPUTS} outputs per request, got ${body.length}`);
  const out: WorkerOutput[] = [];
  for (const [i, raw] of body.entries()) {
    const at = `[${i}]`;
    const type = typeof raw === 'object' && raw !== null ? (raw as { type?: unknown }).type : undefined;
    if (typeof type !== 'string' || !AGENT_OUTPUT_TYPES.has(type)) {
      throw new OutputRefused(
        400,
        `${at}.type: must be one of ${[...AGENT_OUTPUT_TYPES].join(', ')}${typeof type === 'string' ? ` (got "${type.slice(0, 40)}")` : ''}`,
      );
    }
    if (
      i < body.length - 1 &&
      (type === 'input_required' || type === 'done' || type === 'error' || type === 'cancelled')
    )
      throw new OutputRefused(400, `${at}: a ${type} ends the lease, so it must be the last output of its batch`);
    if (type === 'input_required') {
      const q = questionSchema.safeParse(raw);
      if (!q.success) throw new OutputRefused(400, issues(at, q.error));
      out.push({ question: q.data });
      continue;
    }
    let event: AgentEvent;
    try {
      event = parseAgentEvent(raw);
    } catch (err) {
      const list = (err as { issues?: string[] }).issues ?? [String(err)];
      throw new OutputRefused(
        400,
        list.map((s) => (s.startsWith('(event)') ? `${at}${s.slice(7)}` : `${at}.${s}`)).join('; '),
      );
    }
    const capped = capEvent(event, maxEventBytes);
    if (!capped.ok)
      throw new OutputRefused(
        413,
        `${at}: a "${type}" of ${capped.bytes} bytes is over MAX_EVENT_BYTES (${maxEventBytes}); only token and thinking texts are split`,
      );
    out.push({ event });
  }
  return out;
}

function issues(at: string, err: z.ZodError): string {
  return err.issues
    .slice(0, 5)
    .map((i) => `${at}${i.path.length ? '.' + i.path.map(String).join('.') : ''}: ${i.message}`)
    .join('; ');
}

/** An output to append: `count` outputs of the batch from index `first` (merged texts, or one output as sent). */
export interface BatchItem {
  o: WorkerOutput;
  first: number;
  count: number;
}

/**
 * The batch as it is appended: with `on`, its consecutive `token` / `thinking` outputs of one type merged into one
 * event each (within `maxEventBytes`; the job domain's coalesceTextEvents). A pure function of the batch, so a retry
 * of the same batch under the same Producer-Seq appends the same events under the same dedup ids.
 */
export function coalesceOutputs(outputs: WorkerOutput[], maxEventBytes: number, on: boolean): BatchItem[] {
  const last = outputs.at(-1);
  const question = last && 'question' in last ? last : null; // only ever the last output
  const events = (question ? outputs.slice(0, -1) : outputs).map((o) => (o as { event: AgentEvent }).event);
  const items: BatchItem[] = on
    ? coalesceTextEvents(events, maxEventBytes).map((g) => ({ o: { event: g.event }, first: g.first, count: g.count }))
    : events.map((event, i) => ({ o: { event }, first: i, count: 1 }));
  if (question) items.push({ o: question, first: outputs.length - 1, count: 1 });
  return items;
}
