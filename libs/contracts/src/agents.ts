/**
 * Input schemas of the agents the platform knows, validated by the API when a job is created (so bad input is a
 * 400 at once), and again by the worker that runs the agent.
 */
import { z } from 'zod';

/** Splits an echo message into tokens exactly as the contract says. */
export const ECHO_TOKEN_RE = /\S+\s*|\s+/g;
export function echoTokens(message: string): string[] {
  return message.match(ECHO_TOKEN_RE) ?? [];
}

export const ECHO_MAX_TOKENS = 1_000_000;

export const echoInputSchema = z
  .strictObject({
    message: z.string().max(1_000_000),
    repeat: z.number().int().min(1).max(100_000).default(1),
    delay_ms: z.number().int().min(0).max(60_000).default(0),
    fail_after: z.number().int().min(0).optional(),
    tool: z.boolean().default(false),
    /** After `after` tokens (of the first repeat) ask for an approval; `{ approved: false }` ends `cancelled`. */
    ask: z.strictObject({ after: z.number().int().min(0), prompt: z.string().max(4096).optional() }).optional(),
    /** Before the first token, ask the client to run this tool (`input_required` of kind `tool_results`). */
    client_tool: z.strictObject({ name: z.string().min(1).max(256) }).optional(),
  })
  .refine((i) => echoTokens(i.message).length * i.repeat <= ECHO_MAX_TOKENS, {
    message: `message × repeat must be at most ${ECHO_MAX_TOKENS} tokens`,
    path: ['repeat'],
  });
export type EchoInput = z.infer<typeof echoInputSchema>;

/**
 * The `openai` agent: one streamed chat completion from any OpenAI-compatible endpoint.
 *
 * - `messages` (the chat, as the chat-completions API takes it) or `prompt` (shorthand for one user message) —
 *   exactly one of the two.
 * - `model` overrides the worker's `OPENAI_MODEL`.
 * - `temperature`, `top_p`, `max_tokens`, `stop`, `tools`, `tool_choice` are passed through unchanged.
 * Assistant `tool_calls` and `tool` messages are accepted so that a client can run a tool itself and submit a new
 * job carrying the result; or tools marked `client: true` are answered within the job through
 * `POST /v1/jobs/:id/input` (see docs/agents.md).
 */
const openAiToolCallSchema = z.strictObject({
  id: z.string().min(1).max(512),
  type: z.literal('function'),
  function: z.strictObject({ name: z.string().min(1).max(512), arguments: z.string() }),
});
export const openAiMessageSchema = z.strictObject({
  role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
  /** A string, or content parts (`[{ type: 'text', text }, { type: 'image_url', … }]`) passed through as they are. */
  content: z.union([z.string(), z.array(z.record(z.string(), z.unknown())), z.null()]),
  name: z.string().min(1).max(256).optional(),
  /** Required on `role: 'tool'` messages: the call this result answers. */
  tool_call_id: z.string().min(1).max(512).optional(),
  tool_calls: z.array(openAiToolCallSchema).optional(),
});
export const openAiToolSchema = z.strictObject({
  type: z.literal('function'),
  /**
   * A client-side tool. When the model calls it, the job asks the client to run it (`input_required` of kind
   * `tool_results`) and continues the conversation with the results. Not sent to the provider.
   */
  client: z.boolean().optional(),
  function: z.strictObject({
    name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'letters, digits, _ and -, at most 64'),
    description: z.string().max(4096).optional(),
    /** A JSON Schema object for the arguments. */
    parameters: z.record(z.string(), z.unknown()).optional(),
    strict: z.boolean().optional(),
  }),
});
export const openAiInputSchema = z
  .strictObject({
    messages: z.array(openAiMessageSchema).min(1).max(10_000).optional(),
    prompt: z.string().min(1).max(1_000_000).optional(),
    model: z.string().min(1).max(256).optional(),
    temperature: z.number().min(0).max(2).optional(),
    top_p: z.number().min(0).max(1).optional(),
    max_tokens: z.number().int().min(1).optional(),
    stop: z.union([z.string(), z.array(z.string()).max(4)]).optional(),
    tools: z.array(openAiToolSchema).max(128).optional(),
    tool_choice: z
      .union([
        z.enum(['none', 'auto', 'required']),
        z.strictObject({ type: z.literal('function'), function: z.strictObject({ name: z.string().min(1) }) }),
      ])
      .optional(),
  })
  .refine((i) => (i.messages === undefined) !== (i.prompt === undefined), {
    message: 'give exactly one of messages or prompt',
    path: ['messages'],
  })
  .refine((i) => (i.messages ?? []).every((m) => m.role !== 'tool' || m.tool_call_id !== undefined), {
    message: 'a tool message needs tool_call_id',
    path: ['messages'],
  });
export type OpenAiInput = z.infer<typeof openAiInputSchema>;
export type OpenAiMessage = z.infer<typeof openAiMessageSchema>;

/**
 * The built-in agents' input schemas as JSON Schema (draft 2020-12), as their worker announces them to the
 * catalogue. (Refinements such as echo's token bound are checked by the worker when the job runs.)
 */
export const echoInputJsonSchema: Record<string, unknown> = z.toJSONSchema(echoInputSchema, {
  target: 'draft-2020-12',
  io: 'input',
}) as Record<string, unknown>;
export const openAiInputJsonSchema: Record<string, unknown> = z.toJSONSchema(openAiInputSchema, {
  target: 'draft-2020-12',
  io: 'input',
}) as Record<string, unknown>;

/**
 * The built-in agents' zod schemas by name, used by their own worker to parse input. Not the registry of agents:
 * that is the catalogue, where workers announce what they serve. A null-prototype object:
 * look names up with {@link agentInputSchema}, never by plain indexing (`"toString"` is not an agent).
 */
export const AGENT_INPUT_SCHEMAS: Readonly<Record<string, z.ZodType>> = Object.freeze(
  Object.assign(Object.create(null) as Record<string, z.ZodType>, {
    echo: echoInputSchema,
    openai: openAiInputSchema,
  }),
);

/** The input schema of a known agent; undefined for any other name (built-in object member names included). */
export function agentInputSchema(name: string): z.ZodType | undefined {
  return typeof name === 'string' && Object.hasOwn(AGENT_INPUT_SCHEMAS, name) ? AGENT_INPUT_SCHEMAS[name] : undefined;
}

export function knownAgents(): string[] {
  return Object.keys(AGENT_INPUT_SCHEMAS);
}

/** `GET /v1/agents`: the agents workers have announced. */
export interface AgentInfo {
  name: string;
  description: string;
  /** JSON Schema (draft 2020-12) of the job input. */
  input_schema: Record<string, unknown>;
  /** Live workers serving the agent now. */
  workers: number;
}
export interface AgentList {
  items: AgentInfo[];
}
