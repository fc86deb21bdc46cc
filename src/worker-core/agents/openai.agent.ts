/**
 * The `openai` agent: one streamed chat completion from any OpenAI-compatible endpoint, through the AI SDK's
 * OpenAI-compatible provider (`doStream`), mapped to events; client tools make the job wait for their results.
 * Its behaviour (events, tool calls, errors, timeouts) is documented in docs/agents.md; the conversation, transport
 * and error classification live in ./openai/.
 */
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import {
  APICallError,
  InvalidResponseDataError,
  type LanguageModelV3CallOptions,
  type LanguageModelV3StreamPart,
} from '@ai-sdk/provider';
import {
  openAiInputJsonSchema,
  openAiInputSchema,
  type AgentEvent,
  type OpenAiInput,
  type RequestedToolCall,
} from '@jobstream/contracts';
import type { Agent, AgentContext, AgentOutput } from './agent.js';
import { tokenTextIn } from './history.js';
import { TOOL_NOT_EXECUTED, conversationOf, historyMessages } from './openai/conversation.js';
import {
  httpFailure,
  sanitizeMessage,
  streamPartFailure,
  timeoutFailure,
  truncatedFailure,
  unreachableFailure,
  type ProviderFailure,
} from './openai/provider-errors.js';
import { ProviderFailureError, ProviderTransport } from './openai/provider-transport.js';

export { TOOL_NOT_EXECUTED, conversationOf, historyMessages } from './openai/conversation.js';

export interface OpenAiAgentConfig {
  /** e.g. `https://api.openai.com/v1`; `/chat/completions` is appended. */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <apiKey>`; omitted when unset (local servers). */
  apiKey?: string;
  /** The model when the job's input names none. */
  defaultModel?: string;
  /** Inactivity timeout in ms (headers, then between stream reads). Default {@link DEFAULT_OPENAI_TIMEOUT_MS}. */
  timeoutMs?: number;
  /** The fetch to use (tests, proxies); default the global fetch. */
  fetch?: typeof fetch;
}

/** Five minutes: reasoning models may think for a long time before the first byte. */
export const DEFAULT_OPENAI_TIMEOUT_MS = 300_000;

/** Longest call id or tool name kept from the provider. */
const ID_MAX = 512;

type ToolCallPart = Extract<LanguageModelV3StreamPart, { type: 'tool-call' }>;

export class OpenAiAgent implements Agent {
  readonly name = 'openai';
  readonly description = 'One streamed chat completion from an OpenAI-compatible endpoint (messages or prompt, tools).';
  readonly inputSchema = openAiInputJsonSchema;

  parseInput(input: unknown): Record<string, unknown> {
    return openAiInputSchema.parse(input) as Record<string, unknown>;
  }
  private readonly baseUrl: string;
  private readonly host: string;
  private readonly timeoutMs: number;
  private readonly fetchFn: typeof fetch;

  constructor(private readonly config: OpenAiAgentConfig) {
    this.host = new URL(config.baseUrl).host; // throws at construction on a malformed URL
    this.baseUrl = config.baseUrl.replace(/\/+$/, '');
    this.timeoutMs = config.timeoutMs ?? DEFAULT_OPENAI_TIMEOUT_MS;
    this.fetchFn = config.fetch ?? globalThis.fetch;
  }

  async *run(ctx: AgentContext): AsyncIterable<AgentOutput> {
    const input = openAiInputSchema.parse(ctx.input);
    const { signal } = ctx;
    // Continuing after client tool results: the usage of the earlier rounds goes on adding up.
    const base = ctx.history.length > 0 ? { ...ctx.usage } : { input_tokens: 0, output_tokens: 0 };
    /** Until the provider reports usage: one output token per chunk that carried output (how OpenAI streams). */
    let outputChunks = 0;
    const syncUsage = (reported?: { input?: number; output?: number }): void => {
      ctx.usage.input_tokens = base.input_tokens + (reported?.input ?? 0);
      ctx.usage.output_tokens = base.output_tokens + (reported?.output ?? outputChunks);
    };
    const fail = (f: ProviderFailure): AgentEvent => ({
      type: 'error',
      code: f.code,
      message: sanitizeMessage(f.message, this.config.apiKey),
      retryable: f.retryable,
      usage: { ...ctx.usage },
    });

    const model = input.model ?? this.config.defaultModel;
    if (!model) {
      yield fail({
        code: 'agent_misconfigured',
        message: 'no model: the input names none and OPENAI_MODEL is not set',
        retryable: false,
      });
      return;
    }
    if (signal.aborted) return;

    // One controller for the HTTP request, aborted by the job's signal, by the inactivity timer, or by our exit.
    const http = new AbortController();
    const onAbort = (): void => http.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    const transport = new ProviderTransport(this.fetchFn, this.timeoutMs, http);
    const messages = [...historyMessages(ctx.conversation ?? []), ...conversationOf(input, ctx.history)];
    const provider = createOpenAICompatible({
      name: 'openai',
      baseURL: this.baseUrl,
      apiKey: this.config.apiKey,
      headers: { accept: 'text/event-stream' },
      includeUsage: true,
      fetch: transport.fetch,
      transformRequestBody: (body) => ({ ...body, messages }),
    });
    let reader: ReadableStreamDefaultReader<LanguageModelV3StreamPart> | undefined;

    try {
      try {
        const result = await provider.chatModel(model).doStream({
          ...callOptions(input),
          prompt: [],
          abortSignal: http.signal,
          includeRawChunks: true,
        });
        reader = result.stream.getReader();
      } catch (err) {
        if (signal.aborted) return;
        yield fail(requestFailure(err, transport, this.timeoutMs, this.host));
        return;
      }

      let text = '';
      let carried = false; // the current chunk carried output (counted once)
      let noFinishReason = false;
      const calls: ToolCallPart[] = [];
      for (;;) {
        let next: ReadableStreamReadResult<LanguageModelV3StreamPart>;
        try {
          next = await reader.read();
        } catch (err) {
          if (signal.aborted) return;
          yield fail(
            transport.timedOut
              ? timeoutFailure(this.timeoutMs, 'stream')
              : (failureIn(err) ?? truncatedFailure(`connection lost (${rootMessage(err)})`)),
          );
          return;
        }
        if (next.done) break; // the SDK always ends with `finish`; this is a guard
        const part = next.value;
        if (part.type === 'raw') carried = false;
        else if (part.type === 'text-delta' || part.type === 'reasoning-delta' || part.type === 'tool-input-delta') {
          if (!carried) outputChunks++;
          carried = true;
          syncUsage();
          if (part.type === 'text-delta') {
            text += part.delta;
            yield { type: 'token', text: part.delta };
          } else if (part.type === 'reasoning-delta') yield { type: 'thinking', text: part.delta };
          if (signal.aborted) return;
        } else if (part.type === 'tool-call') calls.push(part);
        else if (part.type === 'error') {
          // The SDK says so when the stream ended without a finish_reason: a cut stream unless `[DONE]` came.
          if (InvalidResponseDataError.isInstance(part.error)) noFinishReason = true;
          else {
            yield fail(streamPartFailure(part.error)); // tool calls are dropped: their arguments may be incomplete
            return;
          }
        } else if (part.type === 'finish') {
          syncUsage({ input: part.usage.inputTokens.total, output: part.usage.outputTokens.total });
          if ((noFinishReason || part.finishReason.raw === undefined) && !transport.sawDone) {
            yield fail(truncatedFailure('no finish_reason and no [DONE]'));
            return;
          }
          if (part.finishReason.raw === 'content_filter') {
            yield fail({
              code: 'provider_content_filter',
              message: 'the provider stopped the output with finish_reason content_filter',
              retryable: false,
            });
            return;
          }
          yield* this.endOfTurn(input, calls, tokenTextIn(ctx.history) + text, ctx);
          return;
        }
      }
      yield fail(truncatedFailure('the stream ended without a finish'));
    } finally {
      transport.dispose();
      signal.removeEventListener('abort', onAbort);
      // Whatever way we leave (done, error, abort, consumer stopped iterating), release the connection.
      if (!http.signal.aborted) http.abort(new Error('agent finished'));
      reader?.cancel().catch(() => undefined);
    }
  }

  /**
   * The model's turn is over: `tool_call_start` for every call; a client tool's call is kept for the question
   * (`input_required`), any other gets a not-executed `tool_call_end`; without client calls, `done`.
   */
  private *endOfTurn(
    input: OpenAiInput,
    calls: readonly ToolCallPart[],
    text: string,
    ctx: AgentContext,
  ): Generator<AgentOutput> {
    const clientTools = new Set((input.tools ?? []).filter((t) => t.client).map((t) => t.function.name));
    const clientCalls: RequestedToolCall[] = [];
    for (const part of calls) {
      const call = parseCall(part);
      yield { type: 'tool_call_start', call_id: call.call_id, name: call.name, arguments: call.arguments };
      if (ctx.signal.aborted) return;
      if (clientTools.has(call.name) && !call.argumentsError) {
        clientCalls.push({ call_id: call.call_id, name: call.name, arguments: call.arguments });
        continue;
      }
      yield {
        type: 'tool_call_end',
        call_id: call.call_id,
        name: call.name,
        error: call.argumentsError ? `${TOOL_NOT_EXECUTED} (${call.argumentsError})` : TOOL_NOT_EXECUTED,
      };
      if (ctx.signal.aborted) return;
    }
    if (clientCalls.length > 0) {
      const names = [...new Set(clientCalls.map((c) => c.name))].join(', ');
      yield {
        type: 'input_required',
        kind: 'tool_results',
        prompt: `Run ${names} and send the results.`,
        tool_calls: clientCalls,
      };
      return;
    }
    yield { type: 'done', usage: { ...ctx.usage }, output: { text } };
  }
}

/** The input's sampling parameters and tools as the SDK's call options (`client` is ours, not the provider's). */
function callOptions(input: OpenAiInput): Omit<LanguageModelV3CallOptions, 'prompt'> {
  const choice = input.tool_choice;
  return {
    temperature: input.temperature,
    topP: input.top_p,
    maxOutputTokens: input.max_tokens,
    stopSequences: typeof input.stop === 'string' ? [input.stop] : input.stop,
    tools: input.tools?.map(({ function: f }) => ({
      type: 'function' as const,
      name: f.name,
      description: f.description,
      inputSchema: f.parameters ?? { type: 'object', properties: {} },
      strict: f.strict,
    })),
    toolChoice:
      choice === undefined
        ? undefined
        : typeof choice === 'string'
          ? { type: choice }
          : { type: 'tool', toolName: choice.function.name },
  };
}

/** A tool call as the model asked for it: the arguments parsed, or kept raw with the reason when not JSON. */
function parseCall(part: ToolCallPart): {
  call_id: string;
  name: string;
  arguments: unknown;
  argumentsError?: string;
} {
  const call_id = part.toolCallId.slice(0, ID_MAX);
  const name = part.toolName.slice(0, ID_MAX);
  if (part.input.trim() === '') return { call_id, name, arguments: {} };
  try {
    return { call_id, name, arguments: JSON.parse(part.input) as unknown };
  } catch {
    return {
      call_id,
      name,
      arguments: part.input,
      argumentsError: 'the model produced arguments that are not valid JSON',
    };
  }
}

/** Why the request failed before its stream began. */
function requestFailure(err: unknown, transport: ProviderTransport, timeoutMs: number, host: string): ProviderFailure {
  if (transport.timedOut) return timeoutFailure(timeoutMs, 'response');
  const failure = failureIn(err);
  if (failure) return failure;
  if (APICallError.isInstance(err) && err.statusCode !== undefined) {
    return httpFailure(err.statusCode, err.responseBody ?? '');
  }
  return unreachableFailure(err, host);
}

/** A failure the transport classified, anywhere in the cause chain (the SDK wraps errors of the body). */
function failureIn(err: unknown): ProviderFailure | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof ProviderFailureError) return e.failure;
  }
  return undefined;
}

function rootMessage(err: unknown): string {
  let e = err;
  while (e instanceof Error && e.cause instanceof Error) e = e.cause;
  return e instanceof Error ? e.message : String(e);
}
