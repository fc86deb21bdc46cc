import { describe, expect, it } from '@jest/globals';
import { parseEventFilter } from './event-filter.js';

describe('parseEventFilter', () => {
  it('adds the terminal types, orders as the contract, and accepts repeats and spaces', () => {
    expect(parseEventFilter(undefined)).toBeNull();
    const f = parseEventFilter(['thinking, token', 'token'])!;
    expect(f.types).toEqual(['token', 'thinking', 'done', 'error', 'cancelled']);
    expect(f.header).toBe('token,thinking,done,error,cancelled');
    expect(f.allows('done')).toBe(true);
    expect(f.allows('status')).toBe(false);
  });

  it.each(['', ' , ', 'token,nope', 'snapshot', 'x'.repeat(600)])('refuses %j with 400 invalid_request', (raw) => {
    expect(() => parseEventFilter(raw)).toThrow(expect.objectContaining({ code: 'invalid_request' }));
  });
});
