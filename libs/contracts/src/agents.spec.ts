import { describe, expect, it } from '@jest/globals';
import { AGENT_INPUT_SCHEMAS, agentInputSchema, echoInputSchema, openAiInputSchema } from './agents.js';

describe('openAiInputSchema', () => {
  it('is registered under the name openai', () => {
    expect(AGENT_INPUT_SCHEMAS['openai']).toBe(openAiInputSchema);
  });

  it('accepts a prompt or messages with the optional parameters', () => {
    expect(openAiInputSchema.safeParse({ prompt: 'hi' }).success).toBe(true);
    const full = {
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: [{ type: 'text', text: 'weather?' }] },
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{}' } }],
        },
        { role: 'tool', tool_call_id: 'call_1', content: '{"temp":21}' },
      ],
      model: 'gpt-4o-mini',
      temperature: 0.2,
      max_tokens: 100,
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: {} } } }],
      tool_choice: 'auto',
    };
    expect(openAiInputSchema.parse(full)).toEqual(full);
  });

  it('refuses both or neither of messages and prompt, unknown keys and bad values', () => {
    expect(openAiInputSchema.safeParse({}).success).toBe(false);
    expect(openAiInputSchema.safeParse({ prompt: 'a', messages: [{ role: 'user', content: 'b' }] }).success).toBe(
      false,
    );
    expect(openAiInputSchema.safeParse({ prompt: 'a', stream: false }).success).toBe(false);
    expect(openAiInputSchema.safeParse({ prompt: 'a', temperature: 3 }).success).toBe(false);
    expect(openAiInputSchema.safeParse({ messages: [{ role: 'robot', content: 'b' }] }).success).toBe(false);
    expect(openAiInputSchema.safeParse({ messages: [{ role: 'tool', content: 'r' }] }).success).toBe(false);
  });
});

describe('agentInputSchema', () => {
  it('finds only the agents the platform knows, never a built-in object member', () => {
    expect(agentInputSchema('echo')).toBe(echoInputSchema);
    for (const name of [
      '__proto__',
      'constructor',
      'toString',
      'hasOwnProperty',
      'valueOf',
      'isPrototypeOf',
      'prototype',
      '',
    ]) {
      expect(agentInputSchema(name)).toBeUndefined();
    }
  });
});
