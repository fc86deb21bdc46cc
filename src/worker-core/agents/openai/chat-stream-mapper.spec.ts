import { describe, expect, it } from '@jest/globals';
import { ChatStreamMapper } from './chat-stream-mapper.js';

const chunk = (delta: Record<string, unknown>, finish_reason: string | null = null) => ({
  id: 'c',
  object: 'chat.completion.chunk',
  created: 1,
  model: 'm',
  choices: [{ index: 0, delta, finish_reason }],
});

describe('ChatStreamMapper', () => {
  it('emits thinking before content of the same delta and counts output chunks', () => {
    const m = new ChatStreamMapper();
    expect(m.accept(chunk({ role: 'assistant', content: 'A', reasoning_content: 'r' })).events).toEqual([
      { type: 'thinking', text: 'r' },
      { type: 'token', text: 'A' },
    ]);
    expect(m.accept(chunk({ content: '' })).events).toEqual([]);
    expect(m.usage()).toEqual({ input_tokens: 0, output_tokens: 1 });
    m.accept({ id: 'c', choices: [], usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 } });
    expect(m.usage()).toEqual({ input_tokens: 3, output_tokens: 4 });
  });

  it('ignores choices other than index 0', () => {
    const m = new ChatStreamMapper();
    expect(m.accept({ choices: [{ index: 1, delta: { content: 'other' }, finish_reason: null }] }).events).toEqual([]);
    expect(m.text).toBe('');
  });

  it('accumulates tool calls from servers that omit the index, and names missing ids', () => {
    const m = new ChatStreamMapper();
    m.accept(chunk({ tool_calls: [{ id: 'a', function: { name: 'f', arguments: '{"x":' } }] }));
    m.accept(chunk({ tool_calls: [{ function: { arguments: '1}' } }] }));
    m.accept(chunk({ tool_calls: [{ id: 'b', function: { name: 'g', arguments: '' } }] }));
    m.accept(chunk({ tool_calls: [{ index: 2, function: { name: 'h' } }] }, 'tool_calls'));
    expect(m.finishReason).toBe('tool_calls');
    expect(m.takeToolCalls()).toEqual([
      { call_id: 'a', name: 'f', arguments: { x: 1 } },
      { call_id: 'b', name: 'g', arguments: {} },
      { call_id: 'call_2', name: 'h', arguments: {} },
    ]);
    expect(m.hasPendingToolCalls()).toBe(false);
  });

  it('reports an error object or a chunk of the wrong shape as a failure', () => {
    const m = new ChatStreamMapper();
    expect(m.accept({ error: { message: 'boom', type: 'server_error' } }).failure).toMatchObject({
      code: 'provider_error',
      retryable: true,
    });
    expect(m.accept({ choices: 'nope' }).failure).toMatchObject({ code: 'provider_bad_response', retryable: false });
  });
});
