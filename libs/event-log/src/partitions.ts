/**
 * A partitioned events log: `JETSTREAM_PARTITIONS` = N event streams, a job's stream chosen by a stable hash of its
 * id ({@link partitionOf}). Partition 0 is the original stream and subjects, so N = 1 is the unpartitioned log.
 */
import { EVENTS_STREAM, EVENTS_SUBJECT_PREFIX } from '@jobstream/contracts';

/** Most partitions accepted (JETSTREAM_PARTITIONS). */
export const MAX_PARTITIONS = 64;

/** One partition's stream and subjects. */
export interface EventPartition {
  index: number;
  stream: string;
  /** Its jobs' subjects are `<subjectPrefix>.<jobId>`. */
  subjectPrefix: string;
  /** Every job's subject of the partition (the stream's subject). */
  wildcard: string;
}

/** A clear error for a partition count outside 1..{@link MAX_PARTITIONS}. */
export function assertPartitionCount(n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > MAX_PARTITIONS) {
    throw new RangeError(`the number of event-log partitions must be an integer from 1 to ${MAX_PARTITIONS}, got ${n}`);
  }
  return n;
}

/** FNV-1a (32 bits) of the id's UTF-8 bytes, modulo `n`: the partition a new job goes to. */
export function partitionOf(jobId: string, n: number): number {
  assertPartitionCount(n);
  if (n === 1) return 0;
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(jobId)) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % n;
}

/**
 * Partition `index` of the log whose first stream is `base`: 0 → `base` on `jobstream.events.<jobId>`; p ≥ 1 →
 * `<base>_P<p>` on `jobstream.events.p<p>.<jobId>` (one token more, so the subjects never overlap).
 */
export function eventPartition(index: number, base: string = EVENTS_STREAM): EventPartition {
  const subjectPrefix = index === 0 ? EVENTS_SUBJECT_PREFIX : `${EVENTS_SUBJECT_PREFIX}.p${index}`;
  return { index, stream: index === 0 ? base : `${base}_P${index}`, subjectPrefix, wildcard: `${subjectPrefix}.*` };
}

/** The index of a partition stream of the log whose first stream is `base`, or null for another stream's name. */
export function partitionIndexOf(stream: string, base: string = EVENTS_STREAM): number | null {
  if (stream === base) return 0;
  const m = stream.startsWith(`${base}_P`) ? /^[1-9][0-9]*$/.exec(stream.slice(base.length + 2)) : null;
  return m ? Number(m[0]) : null;
}
