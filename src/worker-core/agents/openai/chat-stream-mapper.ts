/**
 * Turns parsed chat-completion chunks (the JSON of each `data:` line) into agent events. Pure state, no I/O.
 *
 * - `delta.reasoning_content` / `delta.reasoning` → `thinking` (emitted before content of the same delta);
 * - `delta.content` and `delta.refusal` → `token` (a refusal is the model's visible answer);
 * - `delta.tool_calls` fragments are accumulated by `index` (id, function.name, argument pieces) and released as
 *   complete calls by {@link ChatStreamMapper.takeToolCalls} — the agent does so when a `finish_reason` arrives or
 *   at `[DONE]` (never after a failure: a cut call's arguments may be incomplete);
 * - a non-null `usage` (the final usage chunk, or any chunk that carries one) becomes the provider's usage;
 * - `{ "error": … }` is reported as a failure.
 * Only choice index 0 is read (the agent never asks for `n > 1`).
 *
 * Until the provider's usage arrives, output tokens are estimated as one per chunk that carried output (content,
 * reasoning, refusal or tool-call arguments) — which is how OpenAI streams, one token per chunk — and input tokens
 * are not known (0).
 */
import { z } from 'zod';
import type { AgentEvent, Usage } from '@jobstream/contracts';
import { errorObjectOf, streamErrorFailure, type ProviderFailure } from './provider-errors.js';

const toolCallDeltaSchema = z.looseObject({
  index: z.number().int().nonnegative().nullish(),
  id: z.string().nullish(),
  function: z.looseObject({ name: z.string().nullish(), arguments: z.string().nullish() }).nullish(),
});
const deltaSchema = z.looseObject({
  content: z.string().nullish(),
  reasoning_content: z.string().nullish(),
  reasoning: z.string().nullish(),
  refusal: z.string().nullish(),
  tool_calls: z.array(toolCallDeltaSchema).nullish(),
});
/** The parts of a `chat.completion.chunk` the agent reads; everything else is tolerated and ignored. */
export const chatChunkSchema = z.looseObject({
  choices: z
    .array(
      z.looseObject({
        index: z.number().int().nullish(),
        delta: deltaSchema.nullish(),
        finish_reason: z.string().nullish(),
      }),
    )
    .nullish(),
  usage: z
    .looseObject({ prompt_tokens: z.number().int().nonnegative(), completion_tokens: z.number().int().nonnegative() })
    .nullish(),
});

/** A finished tool call as the model asked for it. `arguments` is the parsed JSON, or the raw text if it is not JSON. */
export interface CompletedToolCall {
  call_id: string;
  name: string;
  arguments: unknown;
  /** Set when the argument text is not valid JSON. */
  argumentsError?: string;
}

interface PendingToolCall {
  id?: string;
  name: string;
  args: string;
}

export interface ChunkResult {
  events: AgentEvent[];
  failure?: ProviderFailure;
}

const ID_MAX = 512;

export class ChatStreamMapper {
  /** Concatenated visible text (content and refusal), the `done.output.text`. */
  text = '';
  /** The last `finish_reason` seen on choice 0, if any. */
  finishReason: string | null = null;
  /** The provider's usage, once a chunk carried it. */
  providerUsage: Usage | null = null;
  /** Chunks that carried output: the output-token estimate until the provider reports usage. */
  outputChunks = 0;
  private readonly pending = new Map<number, PendingToolCall>();

  /** Usage as best known now: the provider's if it reported, else the estimate. */
  usage(): Usage {
    return this.providerUsage ?? { input_tokens: 0, output_tokens: this.outputChunks };
  }

  accept(json: unknown): ChunkResult {
    const err = errorObjectOf(json);
    if (err) return { events: [], failure: streamErrorFailure(err) };
    const parsed = chatChunkSchema.safeParse(json);
    if (!parsed.success) {
      return {
        events: [],
        failure: {
          code: 'provider_bad_response',
          message: `unexpected chunk shape: ${parsed.error.issues[0]?.message ?? ''}`,
          retryable: false,
        },
      };
    }
    const chunk = parsed.data;
    if (chunk.usage) {
      this.providerUsage = { input_tokens: chunk.usage.prompt_tokens, output_tokens: chunk.usage.completion_tokens };
    }
    const events: AgentEvent[] = [];
    const choice = chunk.choices?.find((c) => (c.index ?? 0) === 0);
    const delta = choice?.delta;
    if (delta) {
      let carried = false;
      const reasoning = delta.reasoning_content ?? delta.reasoning;
      if (reasoning) {
        events.push({ type: 'thinking', text: reasoning });
        carried = true;
      }
      for (const text of [delta.content, delta.refusal]) {
        if (text) {
          this.text += text;
          events.push({ type: 'token', text });
          carried = true;
        }
      }
      for (const frag of delta.tool_calls ?? []) {
        if (this.addToolFragment(frag)) carried = true;
      }
      if (carried) this.outputChunks++;
    }
    if (choice?.finish_reason) this.finishReason = choice.finish_reason;
    return { events };
  }

  /** Whether tool calls are being accumulated and not yet taken. */
  hasPendingToolCalls(): boolean {
    return this.pending.size > 0;
  }

  /** Releases the accumulated tool calls, in index order, and forgets them. */
  takeToolCalls(): CompletedToolCall[] {
    const calls = [...this.pending.entries()].sort(([a], [b]) => a - b);
    this.pending.clear();
    return calls.map(([index, c]) => {
      const call_id = (c.id || `call_${index}`).slice(0, ID_MAX);
      const name = (c.name || 'unknown_function').slice(0, ID_MAX);
      if (c.args.trim() === '') return { call_id, name, arguments: {} };
      try {
        return { call_id, name, arguments: JSON.parse(c.args) as unknown };
      } catch {
        return {
          call_id,
          name,
          arguments: c.args,
          argumentsError: 'the model produced arguments that are not valid JSON',
        };
      }
    });
  }

  /** Adds one fragment; true if it carried argument text (counts as output). */
  private addToolFragment(frag: z.infer<typeof toolCallDeltaSchema>): boolean {
    let index = frag.index ?? undefined;
    if (index === undefined) {
      // Some compatible servers omit `index`: a fragment with an unseen id starts a call, others continue the last.
      const known = [...this.pending.entries()].find(([, c]) => frag.id && c.id === frag.id);
      index = known ? known[0] : frag.id ? this.pending.size : Math.max(0, this.pending.size - 1);
    }
    let call = this.pending.get(index);
    if (!call) {
      call = { name: '', args: '' };
      this.pending.set(index, call);
    }
    if (frag.id) call.id = frag.id;
    if (frag.function?.name && !call.name) call.name = frag.function.name; // sent once, in the first fragment
    if (frag.function?.arguments) {
      call.args += frag.function.arguments;
      return true;
    }
    return false;
  }
}
