/**
 * The deterministic `echo` agent of the contract: the message split by /\S+\s*|\s+/g into `token` events, `repeat`
 * times over, `delay_ms` apart; `fail_after: n` ends with `error` (`agent_failed`) after n tokens; `tool: true` emits
 * one tool call first. Usage: input_tokens = tokens in the message, output_tokens = token events emitted.
 */
import { echoInputSchema, echoTokens, historyChars, type AgentEvent } from '../../../libs/contracts/src/index.js';
import { abortableDelay, type Agent, type AgentContext } from './agent.js';

export class EchoAgent implements Agent {
  readonly name = 'echo';

  async *run(ctx: AgentContext): AsyncIterable<AgentEvent> {
    const input = echoInputSchema.parse(ctx.input);
    const tokens = echoTokens(input.message);
    ctx.usage.input_tokens = tokens.length;
    const { signal } = ctx;
    const pause = async () => {
      if (input.delay_ms > 0) await abortableDelay(input.delay_ms, signal);
      else if (signal.aborted) throw signal.reason;
    };

    if (input.tool) {
      const call_id = `call_${ctx.jobId.slice(-8)}_${ctx.attempt}`;
      yield { type: 'tool_call_start', call_id, name: 'echo.count_tokens', arguments: { message_length: input.message.length } };
      await pause();
      yield { type: 'tool_call_end', call_id, name: 'echo.count_tokens', result: { tokens: tokens.length } };
    }

    let emitted = 0;
    try {
      for (let r = 0; r < input.repeat; r++) {
        for (const text of tokens) {
          if (input.fail_after !== undefined && emitted >= input.fail_after) {
            yield {
              type: 'error',
              code: 'agent_failed',
              message: `echo failed after ${emitted} tokens as asked (fail_after)`,
              retryable: false,
              usage: { ...ctx.usage },
            };
            return;
          }
          if (emitted > 0) await pause();
          else if (signal.aborted) return;
          emitted++;
          ctx.usage.output_tokens = emitted;
          yield { type: 'token', text };
        }
      }
    } catch (err) {
      if (signal.aborted) return; // the runner reports the cancel
      throw err;
    }
    if (input.fail_after !== undefined && emitted >= input.fail_after) {
      yield {
        type: 'error',
        code: 'agent_failed',
        message: `echo failed after ${emitted} tokens as asked (fail_after)`,
        retryable: false,
        usage: { ...ctx.usage },
      };
      return;
    }
    yield {
      type: 'done',
      usage: { ...ctx.usage },
      output: {
        text: input.message.repeat(input.repeat),
        // in a thread: which turn this was and how much conversation it was given
        ...(ctx.turn !== undefined ? { turn: ctx.turn, history_chars: historyChars(ctx.history ?? []) } : {}),
      },
    };
  }
}
