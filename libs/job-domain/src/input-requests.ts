/**
 * The checks an agent's question (`input_required`) passes before it is recorded and appended, shared by the
 * TypeScript runner and the HTTP worker protocol: a refused one ends the job with `invalid_input_request`.
 */
import type { InputKind, JobEvent, RequestedToolCall } from '@jobstream/contracts';
import { INPUT_LIMITS, InvalidInputSchemaError, inputSchemas, schemaFor } from './input-schemas.js';

/** A question as an agent or a worker sends it, before the platform completes it. */
export interface InputRequestDraft {
  kind: InputKind;
  prompt: string;
  schema?: Record<string, unknown>;
  tool_calls?: RequestedToolCall[];
}

/** Why the question is refused given the attempt's `history` so far; null when it is well-formed. */
export function inputRequestProblem(req: InputRequestDraft, history: readonly JobEvent[]): string | null {
  const calls = req.tool_calls ?? [];
  if (history.filter((e) => e.type === 'input_required').length >= INPUT_LIMITS.requestsPerAttempt)
    return `the agent asked more than ${INPUT_LIMITS.requestsPerAttempt} questions in one attempt`;
  if (req.kind === 'tool_results' && calls.length === 0) return 'a tool_results request needs tool_calls';
  if (req.kind !== 'tool_results' && calls.length > 0) return `a ${req.kind} request cannot carry tool_calls`;
  if (calls.length > INPUT_LIMITS.toolCalls) return `a request may carry at most ${INPUT_LIMITS.toolCalls} tool calls`;
  if (new Set(calls.map((c) => c.call_id)).size !== calls.length) return 'tool_calls repeat a call_id';
  if (req.prompt.length > INPUT_LIMITS.promptChars)
    return `the prompt is longer than ${INPUT_LIMITS.promptChars} characters`;
  return null;
}

/** The schema the question ends up with, compiled once; or why it does not compile. */
export function requestSchema(
  kind: InputKind,
  given: Record<string, unknown> | undefined,
  calls: readonly RequestedToolCall[],
): { schema: Record<string, unknown> } | { problem: string } {
  const schema = schemaFor(kind, given, calls);
  try {
    inputSchemas.compile(schema);
  } catch (err) {
    if (err instanceof InvalidInputSchemaError) return { problem: err.message };
    throw err;
  }
  return { schema };
}
