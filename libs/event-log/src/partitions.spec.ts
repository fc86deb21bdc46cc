import { describe, expect, it } from '@jest/globals';
import { assertPartitionCount, eventPartition, MAX_PARTITIONS, partitionIndexOf, partitionOf } from './partitions.js';

describe('event-log partitions', () => {
  it('puts every job in partition 0 when there is one', () => {
    for (const id of ['a', 'job_123', 'ü']) expect(partitionOf(id, 1)).toBe(0);
  });

  it('is a stable FNV-1a hash of the id, modulo N', () => {
    // FNV-1a 32 of "a" is 0xe40c292c; of "foobar" 0xbf9cf968 (published test vectors)
    expect(partitionOf('a', 64)).toBe(0xe40c292c % 64);
    expect(partitionOf('foobar', 7)).toBe(0xbf9cf968 % 7);
    expect(partitionOf('foobar', 7)).toBe(partitionOf('foobar', 7));
  });

  it('spreads ids over every partition, roughly evenly', () => {
    for (const n of [2, 3, 8, MAX_PARTITIONS]) {
      const counts = new Array<number>(n).fill(0);
      for (let i = 0; i < 1000 * n; i++) counts[partitionOf(`job_${i.toString(36)}`, n)]!++;
      expect(Math.min(...counts)).toBeGreaterThan(700);
      expect(Math.max(...counts)).toBeLessThan(1300);
    }
  });

  it('accepts 1 to 64 partitions and refuses anything else clearly', () => {
    for (const n of [1, 3, 64]) expect(assertPartitionCount(n)).toBe(n);
    for (const n of [0, -1, 65, 2.5, Number.NaN]) {
      expect(() => partitionOf('a', n)).toThrow(/partitions must be an integer from 1 to 64/);
    }
  });

  it('names partition 0 as the unpartitioned log, the others with disjoint subjects', () => {
    expect(eventPartition(0)).toEqual({
      index: 0,
      stream: 'JOBSTREAM_EVENTS',
      subjectPrefix: 'jobstream.events',
      wildcard: 'jobstream.events.*',
    });
    expect(eventPartition(2, 'T')).toEqual({
      index: 2,
      stream: 'T_P2',
      subjectPrefix: 'jobstream.events.p2',
      wildcard: 'jobstream.events.p2.*',
    });
    expect(partitionIndexOf('T_P2', 'T')).toBe(2);
    expect(partitionIndexOf('T', 'T')).toBe(0);
    for (const other of ['T_P0', 'T_P', 'T_Px', 'U_P1', 'T_P01']) expect(partitionIndexOf(other, 'T')).toBeNull();
  });
});
