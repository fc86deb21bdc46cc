import { describe, expect, it } from '@jest/globals';
import { InvalidCursorError, START, decodeCursor, encodeCursor, jobTag } from './cursor.js';
import { newJobId } from './ids.js';

describe('cursors', () => {
  const job = newJobId();

  it('round-trips a position', () => {
    const c = encodeCursor(job, { seq: 42, pos: 90210 });
    expect(decodeCursor(job, c)).toEqual({ seq: 42, pos: 90210 });
    expect(c.startsWith('42-90210-')).toBe(true);
  });

  it('reads no cursor, an empty one and 0 as the start', () => {
    for (const raw of [undefined, null, '', '  ', '0']) expect(decodeCursor(job, raw)).toEqual(START);
  });

  it('refuses malformed cursors', () => {
    for (const raw of [
      'abc',
      '1-2',
      '-1-2-abcdef',
      '0-5-' + jobTag(job),
      '1-0-' + jobTag(job),
      '1.5-2-' + jobTag(job),
      '9'.repeat(20),
    ]) {
      expect(() => decodeCursor(job, raw)).toThrow(InvalidCursorError);
    }
    try {
      decodeCursor(job, 'zzz');
    } catch (e) {
      expect((e as InvalidCursorError).problem).toBe('malformed');
    }
  });

  it("refuses another job's cursor as foreign", () => {
    const other = newJobId();
    const c = encodeCursor(other, { seq: 3, pos: 3 });
    expect(() => decodeCursor(job, c)).toThrow(expect.objectContaining({ problem: 'foreign' }) as unknown as Error);
  });
});
