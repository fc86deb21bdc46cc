import { describe, expect, it } from '@jest/globals';
import type { AgentOutput as AgentEvent } from './agent.js';
import type { AgentContext } from './agent.js';
import { EchoAgent } from './echo.agent.js';

async function run(input: Record<string, unknown>, signal = new AbortController().signal) {
  const ctx: AgentContext = {
    jobId: 'job_01TEST',
    attempt: 1,
    input,
    signal,
    usage: { input_tokens: 0, output_tokens: 0 },
    history: [],
  };
  const events: AgentEvent[] = [];
  for await (const e of new EchoAgent().run(ctx)) events.push(e);
  return { events, ctx };
}

const text = (events: AgentEvent[]) => events.flatMap((e) => (e.type === 'token' ? [e.text] : [])).join('');

describe('EchoAgent', () => {
  it('in a thread, reports its turn and the characters of the history it was given', async () => {
    const ctx: AgentContext = {
      jobId: 'job_01TEST',
      attempt: 1,
      input: { message: 'third' },
      signal: new AbortController().signal,
      usage: { input_tokens: 0, output_tokens: 0 },
      history: [],
      turn: 3,
      conversation: [
        { turn: 1, job_id: 'job_1', input: { message: 'hello' }, output_text: 'hello' },
        { turn: 2, job_id: 'job_2', input: { message: 'cut short' }, output_text: null },
      ],
    };
    const events: AgentEvent[] = [];
    for await (const e of new EchoAgent().run(ctx)) events.push(e);
    expect(events.at(-1)).toMatchObject({ type: 'done', output: { text: 'third', turn: 3, history_chars: 5 + 5 + 9 } });
  });

  it('emits the message as tokens and done with the same text', async () => {
    const message = '  Hello,   world!\n  how are\tyou ';
    const { events } = await run({ message, repeat: 3 });
    expect(text(events)).toBe(message.repeat(3));
    const last = events[events.length - 1]!;
    expect(last).toEqual({
      type: 'done',
      usage: { input_tokens: 6, output_tokens: 18 },
      output: { text: message.repeat(3) },
    });
    const tokens = events.filter((e) => e.type === 'token').map((e) => (e as { text: string }).text);
    expect(tokens.slice(0, 7)).toEqual(['  ', 'Hello,   ', 'world!\n  ', 'how ', 'are\t', 'you ', '  ']);
  });

  it('fails after n tokens with agent_failed and the usage so far', async () => {
    const { events } = await run({ message: 'a b c d e', fail_after: 2 });
    expect(events.map((e) => e.type)).toEqual(['token', 'token', 'error']);
    expect(events[2]).toMatchObject({
      code: 'agent_failed',
      retryable: false,
      usage: { input_tokens: 5, output_tokens: 2 },
    });
  });

  it('fails at once with fail_after 0 and when the message has exactly n tokens', async () => {
    expect((await run({ message: 'a b', fail_after: 0 })).events.map((e) => e.type)).toEqual(['error']);
    expect((await run({ message: 'a b', fail_after: 2 })).events.map((e) => e.type)).toEqual([
      'token',
      'token',
      'error',
    ]);
    expect((await run({ message: 'a b', fail_after: 3 })).events.map((e) => e.type)).toEqual([
      'token',
      'token',
      'done',
    ]);
  });

  it('emits one tool call pair first when asked', async () => {
    const { events } = await run({ message: 'x', tool: true });
    expect(events.map((e) => e.type)).toEqual(['tool_call_start', 'tool_call_end', 'token', 'done']);
    expect((events[0] as { call_id: string }).call_id).toBe((events[1] as { call_id: string }).call_id);
  });

  it('stops between tokens when aborted, keeping the usage so far', async () => {
    const ac = new AbortController();
    const ctx: AgentContext = {
      jobId: 'job_x',
      attempt: 1,
      input: { message: 'a b c d e f', delay_ms: 30 },
      signal: ac.signal,
      usage: { input_tokens: 0, output_tokens: 0 },
      history: [],
    };
    const events: AgentEvent[] = [];
    for await (const e of new EchoAgent().run(ctx)) {
      events.push(e);
      if (events.length === 2) ac.abort(new Error('cancel'));
    }
    expect(events.map((e) => e.type)).toEqual(['token', 'token']);
    expect(ctx.usage).toEqual({ input_tokens: 6, output_tokens: 2 });
  });

  it('handles an empty message', async () => {
    const { events } = await run({ message: '' });
    expect(events).toEqual([{ type: 'done', usage: { input_tokens: 0, output_tokens: 0 }, output: { text: '' } }]);
  });
});
