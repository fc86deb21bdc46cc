import { describe, expect, it } from '@jest/globals';
import type { JobEvent } from '@jobstream/contracts/events';
import { TokenAssembler } from './assembler.js';

const env = (seq: number, attempt: number) => ({ job_id: 'job_1', seq, ts: 't', attempt });

describe('TokenAssembler', () => {
  it('concatenates tokens and resets on a new attempt', () => {
    const a = new TokenAssembler();
    a.apply({ ...env(1, 1), type: 'token', text: 'ab' } as JobEvent);
    a.apply({ ...env(2, 1), type: 'thinking', text: 'hidden' } as JobEvent);
    a.apply({ ...env(3, 1), type: 'token', text: 'c' } as JobEvent);
    expect(a.text).toBe('abc');
    expect(a.apply({ ...env(4, 2), type: 'attempt', attempt: 2, reason: 'r' } as JobEvent)).toEqual({
      kind: 'reset',
      attempt: 2,
      discarded: 'abc',
    });
    a.apply({ ...env(5, 2), type: 'token', text: 'x' } as JobEvent);
    expect(a.text).toBe('x');
    expect(a.attempt).toBe(2);
  });

  it('ignores a stray token of an earlier attempt', () => {
    const a = new TokenAssembler();
    a.apply({ ...env(1, 2), type: 'attempt', attempt: 2, reason: 'r' } as JobEvent);
    expect(a.apply({ ...env(2, 1), type: 'token', text: 'stale' } as JobEvent)).toEqual({ kind: 'none' });
    expect(a.text).toBe('');
  });
});
