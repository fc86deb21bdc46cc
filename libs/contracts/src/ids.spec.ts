import { describe, expect, it } from '@jest/globals';
import { JOB_ID_PATTERN } from './job.js';
import { newJobId } from './ids.js';

describe('newJobId', () => {
  it('is well formed and strictly increasing, also within one millisecond', () => {
    const ids = Array.from({ length: 2000 }, () => newJobId(1_700_000_000_000));
    for (const id of ids) expect(id).toMatch(JOB_ID_PATTERN);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    expect(newJobId() > ids[ids.length - 1]!).toBe(true);
  });
});
