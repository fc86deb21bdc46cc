/**
 * Records kept as one hash field each (`<prefix><id>` → field) and indexed by sorted sets of ids: read a batch of
 * ids in one pipeline, and scan a score range of an index, dropping the ids whose record has vanished (expired, or
 * a flushed Redis) from the index as it goes.
 */
import type { Redis } from 'ioredis';

export interface Loaded {
  /** The ids whose record exists, with the field's value, in the order asked. */
  found: { id: string; doc: string }[];
  /** The ids without a record. */
  gone: string[];
}

/** HGET `field` of `keyOf(id)` for every id, in one pipeline. */
export async function hgetMany(
  redis: Redis,
  ids: readonly string[],
  keyOf: (id: string) => string,
  field: string,
): Promise<Loaded> {
  const out: Loaded = { found: [], gone: [] };
  if (ids.length === 0) return out;
  const replies = await redis.pipeline(ids.map((id) => ['hget', keyOf(id), field])).exec();
  ids.forEach((id, i) => {
    const [err, doc] = replies?.[i] ?? [null, null];
    if (err) throw err;
    if (doc === null || doc === undefined) out.gone.push(id);
    else out.found.push({ id, doc: doc as string });
  });
  return out;
}

export interface IndexScan {
  /** The sorted set of ids. */
  index: string;
  /** The highest score (a ZRANGEBYSCORE bound: `(123` is exclusive); from `-inf`. */
  max: string;
  /** At most this many ids are read. */
  limit: number;
  keyOf: (id: string) => string;
  field: string;
}

/**
 * The records of the lowest-scored ids of `index` up to `max` (at most `limit`), lowest first; ids whose record
 * is gone leave the index.
 */
export async function scanIndex(redis: Redis, s: IndexScan): Promise<{ id: string; doc: string }[]> {
  const n = Math.max(1, Math.floor(s.limit));
  const ids = await redis.zrangebyscore(s.index, '-inf', s.max, 'LIMIT', 0, n);
  const { found, gone } = await hgetMany(redis, ids, s.keyOf, s.field);
  if (gone.length > 0) await redis.zrem(s.index, ...gone);
  return found;
}
