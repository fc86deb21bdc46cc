/**
 * The Durable Streams metadata port: one record per stream and tenant (content type, expiry, closure, producer
 * state, fork lineage, the position of its newest frame). The frames themselves are in the {@link ByteLog}.
 *
 * Contract (checked by `ds-store.conformance.ts` on every driver):
 * - `create` stores a record only if the name is free, and only while the tenant holds fewer than `maxStreams`
 *   records; atomically with respect to other creates of any process.
 * - `replace` is a compare-and-set on `rev`: it stores `next` (whose `rev` is `expectedRev + 1`) only if the stored
 *   record still has `expectedRev`. Every change of a record goes through it, so concurrent writers never lose one
 *   another's update.
 * - `touch` records an access time outside `rev` (readers extend a sliding TTL without racing writers).
 * - `remove` deletes only if `rev` still matches, and frees the tenant's quota slot.
 */
/** An idempotent producer's append: `Producer-Id`, `Producer-Epoch`, `Producer-Seq`. */
export interface ProducerTuple {
  id: string;
  epoch: number;
  seq: number;
}

export interface DsSegment {
  /** Log key of an ancestor's frames. */
  id: string;
  /** Inherit its frames up to this position (inclusive). */
  upTo: number;
}

export interface DsStreamRecord {
  /** Log key of this stream's own frames (new for every incarnation of a name). */
  id: string;
  contentType: string;
  ttlS?: number;
  expiresAt?: string;
  createdAt: number;
  closed: boolean;
  /** The producer append that closed the stream, so that its retry is recognised. */
  closedBy?: ProducerTuple;
  /** Position of the newest frame, own or inherited (the tail offset). */
  tail: number;
  /** Position of the newest own frame (0: none): the compare-and-append expectation. */
  ownLast: number;
  /** Last `Stream-Seq` accepted (writer coordination, compared as strings). */
  lastSeq?: string;
  producers: Record<string, { epoch: number; seq: number }>;
  /** Frames inherited from ancestors, oldest first. */
  segments: DsSegment[];
  /** How the stream was forked (compared by an idempotent re-create). */
  fork?: { from: string; offset: number; sub: number };
  /** Forks that read this stream's frames: a deleted stream with forks is kept (soft-deleted) until they go. */
  refs: number;
  deleted: boolean;
  rev: number;
}

export type CreateResult = 'created' | 'exists' | 'quota';

export interface DsStore {
  get(tenant: string, name: string): Promise<{ record: DsStreamRecord; touchedAt: number } | null>;
  create(tenant: string, name: string, record: DsStreamRecord, maxStreams: number): Promise<CreateResult>;
  replace(tenant: string, name: string, next: DsStreamRecord, expectedRev: number): Promise<boolean>;
  touch(tenant: string, name: string, at: number): Promise<void>;
  remove(tenant: string, name: string, expectedRev: number): Promise<boolean>;
  /** Records the tenant holds (quota). */
  count(tenant: string): Promise<number>;
  close(): Promise<void>;
}
