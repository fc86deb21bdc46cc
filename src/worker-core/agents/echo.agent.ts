/**
 * The deterministic `echo` agent of the contract: the message split into `token` events, `repeat` times over,
 * `delay_ms` apart, with failures, tool calls and questions on demand (`fail_after`, `tool`, `ask`, `client_tool`).
 * Its input and behaviour are documented in docs/agents.md. After an answer it continues from `ctx.history`.
 */
import { echoInputJsonSchema, echoInputSchema, echoTokens, historyChars } from '@jobstream/contracts';
import { APPROVAL_SCHEMA } from '@jobstream/job-domain';
import { abortableDelay, type Agent, type AgentContext, type AgentOutput } from './agent.js';
import { requestsIn, tokensCoveredIn, toolCallEnded } from './history.js';

export const ECHO_DEFAULT_ASK_PROMPT = 'Continue?';

export class EchoAgent implements Agent {
  readonly name = 'echo';
  readonly description =
    'Deterministic test agent: streams the message back token by token (repeat, delay_ms, fail_after, tool, ask, client_tool).';
  readonly inputSchema = echoInputJsonSchema;

  parseInput(input: unknown): Record<string, unknown> {
    return echoInputSchema.parse(input) as Record<string, unknown>;
  }

  async *run(ctx: AgentContext): AsyncIterable<AgentOutput> {
    const input = echoInputSchema.parse(ctx.input);
    const tokens = echoTokens(input.message);
    ctx.usage.input_tokens = tokens.length;
    const { signal, history } = ctx;
    const pause = async () => {
      if (input.delay_ms > 0) await abortableDelay(input.delay_ms, signal);
      else if (signal.aborted) throw signal.reason;
    };
    const asked = requestsIn(history);
    const failed = (emitted: number): AgentOutput => ({
      type: 'error',
      code: 'agent_failed',
      message: `echo failed after ${emitted} tokens as asked (fail_after)`,
      retryable: false,
      usage: { ...ctx.usage },
    });

    if (input.tool) {
      const call_id = `call_${ctx.jobId.slice(-8)}_${ctx.attempt}`;
      if (!toolCallEnded(history, call_id)) {
        yield {
          type: 'tool_call_start',
          call_id,
          name: 'echo.count_tokens',
          arguments: { message_length: input.message.length },
        };
        await pause();
        yield { type: 'tool_call_end', call_id, name: 'echo.count_tokens', result: { tokens: tokens.length } };
      }
    }

    if (input.client_tool) {
      const call_id = `call_${ctx.jobId.slice(-8)}_${ctx.attempt}_client`;
      const { name } = input.client_tool;
      const req = asked.find((r) => r.request.kind === 'tool_results');
      if (!req) {
        const args = { message_length: input.message.length };
        yield { type: 'tool_call_start', call_id, name, arguments: args };
        yield {
          type: 'input_required',
          kind: 'tool_results',
          prompt: `Run the tool "${name}" and send its result.`,
          tool_calls: [{ call_id, name, arguments: args }],
        };
        return;
      }
      if (!toolCallEnded(history, call_id)) {
        const res = (
          (req.answer?.['results'] as { call_id: string; result?: unknown; error?: string }[] | undefined) ?? []
        ).find((r) => r.call_id === call_id);
        if (res && typeof res.error === 'string') yield { type: 'tool_call_end', call_id, name, error: res.error };
        else yield { type: 'tool_call_end', call_id, name, result: res?.result ?? null };
      }
    }

    const askAt = input.ask ? Math.min(input.ask.after, tokens.length) : -1;
    /** At the ask point: ask (then stop), end on a rejection, or go on. */
    const gate = (): AgentOutput | 'go' => {
      const req = asked.find((r) => r.request.kind === 'approval');
      if (!req) {
        return {
          type: 'input_required',
          kind: 'approval',
          prompt: input.ask?.prompt ?? ECHO_DEFAULT_ASK_PROMPT,
          schema: { ...APPROVAL_SCHEMA },
        };
      }
      if (req.answer?.['approved'] === true) return 'go';
      return { type: 'cancelled', reason: 'rejected', usage: { ...ctx.usage } };
    };

    // Continuing: the tokens already in the log are not emitted again (counted by text: a long token may be
    // several events in the log).
    const already = tokensCoveredIn(history, tokens, input.repeat);
    let emitted = already;
    ctx.usage.output_tokens = emitted;
    try {
      for (let r = 0; r < input.repeat; r++) {
        for (let i = 0; i < tokens.length; i++) {
          const index = r * tokens.length + i;
          if (index < already) continue;
          if (r === 0 && i === askAt) {
            const g = gate();
            if (g !== 'go') {
              yield g;
              return;
            }
          }
          if (input.fail_after !== undefined && emitted >= input.fail_after) {
            yield failed(emitted);
            return;
          }
          if (emitted > 0) await pause();
          else if (signal.aborted) return;
          emitted++;
          ctx.usage.output_tokens = emitted;
          yield { type: 'token', text: tokens[i]! };
        }
        if (r === 0 && askAt === tokens.length && askAt >= already) {
          const g = gate();
          if (g !== 'go') {
            yield g;
            return;
          }
        }
      }
    } catch (err) {
      if (signal.aborted) return; // the runner reports the cancel
      throw err;
    }
    if (input.fail_after !== undefined && emitted >= input.fail_after) {
      yield failed(emitted);
      return;
    }
    yield {
      type: 'done',
      usage: { ...ctx.usage },
      output: {
        text: input.message.repeat(input.repeat),
        // in a thread: which turn this was and how much conversation it was given
        ...(ctx.turn !== undefined ? { turn: ctx.turn, history_chars: historyChars(ctx.conversation ?? []) } : {}),
      },
    };
  }
}
