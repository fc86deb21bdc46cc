/**
 * The `openai` agent: one streamed chat completion from any OpenAI-compatible endpoint (OpenAI, Azure-style proxies,
 * vLLM, Ollama, LM Studio, OpenRouter, DeepSeek…).
 *
 * It POSTs `${baseUrl}/chat/completions` with `stream: true` and `stream_options: { include_usage: true }`, reads the
 * SSE response with eventsource-parser and maps it (see ./openai/chat-stream-mapper.ts):
 *   reasoning → `thinking`, content/refusal → `token`, tool calls → `tool_call_start` + `tool_call_end`,
 *   the usage chunk → `done.usage`, the concatenated content → `done.output.text`.
 *
 * Tool calls. The platform runs no tools itself. A tool the job's input marks `client: true` is the client's to run
 * (v1.1): when the model calls one, the agent emits `tool_call_start` for each call and an `input_required` of kind
 * `tool_results` listing the client calls; the job waits holding no worker. On the answer the agent is called again
 * with the job's history and rebuilds the conversation from it — the original messages, then per round the
 * assistant message (its text and `tool_calls`) and one `tool` message per call (the client's result or error) —
 * and streams the next completion: the model is never asked twice for the same turn. Any other tool call gets a
 * `tool_call_end` with an `error` saying it was not executed (never a `result`, which would claim a tool ran), and
 * without client calls the job ends with `done` (the model's turn is over, `finish_reason: 'tool_calls'`).
 *
 * Failures end with one `error` event; `retryable` is classified in ./openai/provider-errors.ts (table in
 * docs/agents.md). An abort of `ctx.signal` aborts the HTTP request and the agent returns without a terminal event
 * (the runner appends `cancelled` with `ctx.usage`). The API key is sent only in the `Authorization` header and is
 * scrubbed from every error message.
 *
 * `timeoutMs` is an inactivity timeout: the time allowed for the response headers, and then between two reads of
 * the stream — a long generation that keeps streaming never times out.
 */
import { createParser, type EventSourceMessage, type ParseError } from 'eventsource-parser';
import {
  openAiInputJsonSchema,
  openAiInputSchema,
  turnInputText,
  type AgentEvent,
  type ConversationTurn,
  type JobEvent,
  type OpenAiInput,
  type RequestedToolCall,
} from '@jobstream/contracts';
import type { Agent, AgentContext, AgentOutput } from './agent.js';
import { requestsIn, tokenTextIn } from './history.js';
import { ChatStreamMapper } from './openai/chat-stream-mapper.js';
import {
  badResponseFailure,
  errorObjectOf,
  httpFailure,
  sanitizeMessage,
  streamErrorFailure,
  timeoutFailure,
  truncatedFailure,
  unreachableFailure,
  type ProviderFailure,
} from './openai/provider-errors.js';

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

/** The text of `tool_call_end.error` for a call the platform did not execute. */
export const TOOL_NOT_EXECUTED =
  'not executed: the platform runs no tools (mark a tool "client": true to run it in the client)';

/** Caps on what is buffered from the provider: an error body, and one SSE event. */
const MAX_ERROR_BODY = 64 * 1024;
const MAX_SSE_EVENT = 8 * 1024 * 1024;

export class OpenAiAgent implements Agent {
  readonly name = 'openai';
  readonly description = 'One streamed chat completion from an OpenAI-compatible endpoint (messages or prompt, tools).';
  readonly inputSchema = openAiInputJsonSchema;

  parseInput(input: unknown): Record<string, unknown> {
    return openAiInputSchema.parse(input) as Record<string, unknown>;
  }
  private readonly url: string;
  private readonly host: string;
  private readonly timeoutMs: number;
  private readonly fetchFn: typeof fetch;

  constructor(private readonly config: OpenAiAgentConfig) {
    const base = new URL(config.baseUrl); // throws at construction on a malformed URL
    this.url = `${config.baseUrl.replace(/\/+$/, '')}/chat/completions`;
    this.host = base.host;
    this.timeoutMs = config.timeoutMs ?? DEFAULT_OPENAI_TIMEOUT_MS;
    this.fetchFn = config.fetch ?? globalThis.fetch;
  }

  async *run(ctx: AgentContext): AsyncIterable<AgentOutput> {
    const input = openAiInputSchema.parse(ctx.input);
    const { signal } = ctx;
    const mapper = new ChatStreamMapper();
    // Continuing after client tool results: the usage of the earlier rounds goes on adding up.
    const base = ctx.history.length > 0 ? { ...ctx.usage } : { input_tokens: 0, output_tokens: 0 };
    const syncUsage = (): void => {
      const u = mapper.usage();
      ctx.usage.input_tokens = base.input_tokens + u.input_tokens;
      ctx.usage.output_tokens = base.output_tokens + u.output_tokens;
    };
    const clientTools = new Set((input.tools ?? []).filter((t) => t.client).map((t) => t.function.name));
    /** Client tool calls of this round: the job asks for their results instead of ending. */
    const clientCalls: RequestedToolCall[] = [];
    const earlierText = tokenTextIn(ctx.history);
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
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    const arm = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        timedOut = true;
        http.abort(new Error('provider inactivity timeout'));
      }, this.timeoutMs);
    };
    const disarm = (): void => clearTimeout(timer);
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;

    try {
      let res: Response;
      try {
        arm();
        res = await this.fetchFn(this.url, {
          method: 'POST',
          headers: this.headers(),
          body: JSON.stringify(
            this.requestBody(input, model, [
              ...historyMessages(ctx.conversation ?? []),
              ...conversationOf(input, ctx.history),
            ]),
          ),
          signal: http.signal,
        });
      } catch (err) {
        if (signal.aborted) return;
        yield fail(timedOut ? timeoutFailure(this.timeoutMs, 'response') : unreachableFailure(err, this.host));
        return;
      } finally {
        disarm();
      }

      if (!res.ok || !res.body || /application\/json/i.test(res.headers.get('content-type') ?? '')) {
        let text: string;
        try {
          arm();
          text = await readCapped(res, MAX_ERROR_BODY);
        } catch (err) {
          if (signal.aborted) return;
          if (!res.ok) text = '';
          else {
            yield fail(
              timedOut ? timeoutFailure(this.timeoutMs, 'stream') : truncatedFailure(String((err as Error).message)),
            );
            return;
          }
        } finally {
          disarm();
        }
        if (!res.ok) yield fail(httpFailure(res.status, text));
        else yield fail(nonStreamFailure(text));
        return;
      }

      // Read the stream: bytes → text → SSE messages → chunks → events.
      const messages: EventSourceMessage[] = [];
      let parseError: ParseError | undefined;
      const parser = createParser({
        onEvent: (m) => void messages.push(m),
        onError: (e) => {
          if (e.type === 'max-buffer-size-exceeded') parseError = e; // unknown fields / bad retry: tolerated
        },
        maxBufferSize: MAX_SSE_EVENT,
      });
      const decoder = new TextDecoder();
      reader = res.body.getReader();
      let sawDone = false;

      read: for (;;) {
        let chunk: ReadableStreamReadResult<Uint8Array>;
        try {
          arm();
          chunk = await reader.read();
        } catch (err) {
          if (signal.aborted) return;
          yield fail(
            timedOut
              ? timeoutFailure(this.timeoutMs, 'stream')
              : truncatedFailure(`connection lost (${(err as Error).message})`),
          );
          return;
        } finally {
          disarm();
        }
        // At the end, an event without its terminating blank line is dropped: a cut stream, not a message.
        parser.feed(chunk.done ? decoder.decode() : decoder.decode(chunk.value, { stream: true }));
        if (parseError) {
          yield fail(badResponseFailure(parseError.message));
          return;
        }
        for (const m of messages.splice(0)) {
          if (m.data.trim() === '[DONE]') {
            sawDone = true;
            break read;
          }
          let json: unknown;
          try {
            json = JSON.parse(m.data);
          } catch {
            yield fail(badResponseFailure(`a data line is not JSON: ${m.data.slice(0, 120)}`));
            return;
          }
          const out = mapper.accept(json);
          syncUsage();
          for (const e of out.events) {
            yield e;
            if (signal.aborted) return;
          }
          if (out.failure) {
            yield fail(out.failure); // tool calls still pending are dropped: their arguments may be incomplete
            return;
          }
          if (mapper.finishReason && mapper.hasPendingToolCalls()) {
            yield* this.toolCalls(mapper, clientTools, clientCalls);
            if (signal.aborted) return;
          }
        }
        if (chunk.done) break;
      }

      syncUsage();
      if (!sawDone && mapper.finishReason === null) {
        // Pending tool calls are dropped: a cut stream may have cut their arguments.
        yield fail(truncatedFailure('no finish_reason and no [DONE]'));
        return;
      }
      if (mapper.finishReason === 'content_filter') {
        yield fail({
          code: 'provider_content_filter',
          message: 'the provider stopped the output with finish_reason content_filter',
          retryable: false,
        });
        return;
      }
      yield* this.toolCalls(mapper, clientTools, clientCalls); // calls still pending at a proper end ([DONE] without a finish_reason)
      if (signal.aborted) return;
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
      yield { type: 'done', usage: { ...ctx.usage }, output: { text: earlierText + mapper.text } };
    } finally {
      disarm();
      signal.removeEventListener('abort', onAbort);
      // Whatever way we leave (done, error, abort, consumer stopped iterating), release the connection.
      if (!http.signal.aborted) http.abort(new Error('agent finished'));
      reader?.cancel().catch(() => undefined);
    }
  }

  /**
   * `tool_call_start` for every call completed so far; a client tool's call is kept for the question, any other gets
   * a not-executed `tool_call_end`.
   */
  private *toolCalls(
    mapper: ChatStreamMapper,
    clientTools: ReadonlySet<string>,
    clientCalls: RequestedToolCall[],
  ): Generator<AgentEvent> {
    for (const call of mapper.takeToolCalls()) {
      yield { type: 'tool_call_start', call_id: call.call_id, name: call.name, arguments: call.arguments };
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
    }
  }

  private headers(): Record<string, string> {
    const h: Record<string, string> = { 'content-type': 'application/json', accept: 'text/event-stream' };
    if (this.config.apiKey) h['authorization'] = `Bearer ${this.config.apiKey}`;
    return h;
  }

  private requestBody(input: OpenAiInput, model: string, messages: unknown[]): Record<string, unknown> {
    const { messages: _messages, prompt: _prompt, model: _model, tools, ...params } = input;
    return {
      model,
      messages,
      ...params,
      // `client` is ours, not the provider's
      ...(tools ? { tools: tools.map(({ client: _client, ...t }) => t) } : {}),
      stream: true,
      stream_options: { include_usage: true },
    };
  }
}

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

/** A 200 with a JSON body instead of a stream: an error object, or a server that ignored `stream: true`. */
function nonStreamFailure(text: string): ProviderFailure {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return badResponseFailure('a 200 whose body is neither an event stream nor JSON');
  }
  const err = errorObjectOf(json);
  return err
    ? streamErrorFailure(err)
    : badResponseFailure('a JSON body instead of a stream (does the server support stream: true?)');
}

/** Reads at most `max` bytes of the body as text, then lets the rest go. */
async function readCapped(res: Response, max: number): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < max) {
      const r = await reader.read();
      if (r.done) break;
      parts.push(r.value);
      size += r.value.byteLength;
    }
  } finally {
    reader.cancel().catch(() => undefined);
  }
  return new TextDecoder().decode(Buffer.concat(parts).subarray(0, max));
}
