import { describe, expect, it } from '@jest/globals';
import { agentEventSchema, InvalidEventError, parseAgentEvent } from './events.js';

describe('parseAgentEvent', () => {
  it('accepts a token event exactly as the schema does, as a copy', () => {
    const input = { type: 'token', text: 'hi ' };
    const out = parseAgentEvent(input);
    expect(out).toEqual(agentEventSchema.parse(input));
    expect(out).not.toBe(input);
    expect(parseAgentEvent({ text: '', type: 'token' })).toEqual({ type: 'token', text: '' });
  });

  it('refuses what the schema refuses for a token: an extra key, a text that is not a string, a missing text', () => {
    for (const bad of [
      { type: 'token', text: 'a', extra: 1 },
      { type: 'token', text: 1 },
      { type: 'token' },
      Object.assign(Object.create({ type: 'token' }) as object, { text: 'a', other: 'b' }),
    ]) {
      expect(agentEventSchema.safeParse(bad).success).toBe(false);
      expect(() => parseAgentEvent(bad)).toThrow(InvalidEventError);
    }
  });

  it('validates the other event types through the schema', () => {
    expect(parseAgentEvent({ type: 'thinking', text: 't' })).toEqual({ type: 'thinking', text: 't' });
    expect(() => parseAgentEvent({ type: 'nope' })).toThrow(InvalidEventError);
    expect(() => parseAgentEvent(null)).toThrow(InvalidEventError);
  });
});
