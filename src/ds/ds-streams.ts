/**
 * Durable Streams of a tenant: create (and fork), append / close, delete, and the lookup every request starts with.
 * Frames go to the {@link ByteLog}, everything else to the {@link DsStore}; a write stores its frame first (with a
 * compare-and-append on the stream's newest frame and, for producers, a dedup id), then advances the record by a
 * compare-and-set. Failing half-way leaves a frame the record does not count yet: the next writer finds the log
 * ahead, folds it in, and a producer's retry of that append is recognised by its dedup id (never appended twice).
 */
import { randomUUID } from 'node:crypto';
import { ByteLogConflictError, type ByteLog } from '@jobstream/event-log';
import { framePrefix, jsonFrame } from './ds-body.js';
import { DsError } from './ds-error.js';
import { checkEpoch, checkSequence, isDuplicate } from './ds-producers.js';
import {
  H,
  formatOffset,
  isJsonType,
  mediaType,
  type Expiry,
  type ForkRequest,
  type ProducerTuple,
} from './ds-protocol.js';
import { readFrames } from './ds-reads.js';
import type { DsStore, DsStreamRecord } from './store/ds-store.port.js';

export interface CreateRequest {
  contentType?: string;
  expiry: Expiry;
  closed: boolean;
  fork: ForkRequest | null;
  body: Uint8Array;
}

export interface AppendRequest {
  contentType?: string;
  body: Uint8Array;
  closed: boolean;
  producer: ProducerTuple | null;
  seq?: string;
}

export interface AppendResult {
  /** 200 (producer append), 204 (plain append, close-only, or a retry). */
  status: 200 | 204;
  record: DsStreamRecord;
  producer?: { epoch: number; seq: number };
}

const DEFAULT_TYPE = 'application/octet-stream';
const MAX_RETRIES = 20;

export class DsStreams {
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(
    private readonly log: ByteLog,
    private readonly store: DsStore,
    private readonly maxStreams: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The stream's record, or null when there is none or it expired (removed on the way). */
  async lookup(tenant: string, name: string): Promise<DsStreamRecord | null> {
    const got = await this.store.get(tenant, name);
    if (!got) return null;
    const rec = got.record;
    if (rec.deleted || !this.expired(rec, got.touchedAt)) return rec;
    await this.drop(tenant, name, rec);
    const after = await this.store.get(tenant, name);
    return after?.record.deleted ? after.record : null;
  }

  /** The stream to read or write: 404 when absent, 410 when deleted but still read by forks. */
  async open(tenant: string, name: string): Promise<DsStreamRecord> {
    const rec = await this.lookup(tenant, name);
    if (!rec) throw DsError.notFound(name);
    if (rec.deleted) throw DsError.gone(name);
    return rec;
  }

  /** Extends a sliding TTL (reads and writes do; HEAD does not). */
  async touch(tenant: string, name: string, rec: DsStreamRecord): Promise<void> {
    if (rec.ttlS !== undefined) await this.store.touch(tenant, name, this.now());
  }

  private expired(rec: DsStreamRecord, touchedAt: number): boolean {
    if (rec.expiresAt !== undefined) return this.now() >= Date.parse(rec.expiresAt);
    if (rec.ttlS !== undefined) return this.now() >= touchedAt + rec.ttlS * 1000;
    return false;
  }

  async create(
    tenant: string,
    name: string,
    req: CreateRequest,
  ): Promise<{ created: boolean; record: DsStreamRecord }> {
    const existing = await this.lookup(tenant, name);
    if (existing) return { created: false, record: this.sameConfig(name, existing, req) };

    let contentType = req.contentType ?? DEFAULT_TYPE;
    let expiry = req.expiry;
    let segments: DsStreamRecord['segments'] = [];
    let forkPos = 0;
    let prefix: Uint8Array | null = null;
    if (req.fork) {
      const source = await this.lookup(tenant, req.fork.from);
      if (!source) throw DsError.notFound(req.fork.from);
      if (source.deleted) throw DsError.conflict('stream_deleted', `stream ${req.fork.from} was deleted`);
      if (req.contentType !== undefined && mediaType(req.contentType) !== mediaType(source.contentType)) {
        throw DsError.conflict('content_type_mismatch', `a fork keeps its source's content type ${source.contentType}`);
      }
      contentType = req.contentType ?? source.contentType;
      forkPos = req.fork.offset ?? source.tail;
      if (forkPos > source.tail) throw DsError.bad('invalid_offset', 'the fork offset is beyond the end of the source');
      if (req.fork.sub > 0) {
        const [next] = await readFrames(this.log, source, forkPos, 1, 1);
        prefix = next ? framePrefix(next.data, req.fork.sub, isJsonType(contentType)) : null;
        if (!prefix) throw DsError.bad('invalid_offset', `${H.forkSubOffset} is beyond the source's next append`);
      }
      segments = [...source.segments, { id: source.id, upTo: forkPos }]
        .map((s) => ({ id: s.id, upTo: Math.min(s.upTo, forkPos) }))
        .filter((s) => s.upTo > 0);
      if (expiry.ttlS === undefined && expiry.expiresAt === undefined) {
        expiry = { ttlS: source.ttlS, expiresAt: source.expiresAt };
      }
    }
    const json = isJsonType(contentType);
    const frames: Uint8Array[] = [];
    if (prefix) frames.push(prefix);
    if (req.body.length > 0) {
      const f = json ? jsonFrame(req.body) : req.body;
      if (f) frames.push(f);
    }
    // frames first, under a fresh key: a create that fails afterwards leaves only unreachable frames behind
    const id = randomUUID().replace(/-/g, '');
    let ownLast = 0;
    for (const f of frames) ownLast = (await this.log.append(id, f, { expectedLastPos: ownLast })).pos;
    const record: DsStreamRecord = {
      id,
      contentType,
      ...(expiry.ttlS !== undefined ? { ttlS: expiry.ttlS } : {}),
      ...(expiry.expiresAt !== undefined ? { expiresAt: expiry.expiresAt } : {}),
      createdAt: this.now(),
      closed: req.closed,
      tail: ownLast || forkPos,
      ownLast,
      producers: {},
      segments,
      ...(req.fork ? { fork: { from: req.fork.from, offset: forkPos, sub: req.fork.sub } } : {}),
      refs: 0,
      deleted: false,
      rev: 1,
    };
    const r = await this.store.create(tenant, name, record, this.maxStreams);
    if (r !== 'created') {
      await this.log.delete(id);
      if (r === 'quota') {
        throw new DsError(
          429,
          'quota_exceeded',
          `this tenant already holds ${this.maxStreams} streams (DS_MAX_STREAMS)`,
        );
      }
      const other = await this.open(tenant, name);
      return { created: false, record: this.sameConfig(name, other, req) };
    }
    if (req.fork) await this.adjustRefs(tenant, req.fork.from, +1);
    return { created: true, record };
  }

  /** An idempotent re-create: the same configuration ⇒ the stream as it is; another one ⇒ 409. */
  private sameConfig(name: string, rec: DsStreamRecord, req: CreateRequest): DsStreamRecord {
    if (rec.deleted) throw DsError.conflict('stream_deleted', `stream ${name} was deleted and is still read by forks`);
    const differs = (what: string) => DsError.conflict('stream_exists', `stream ${name} exists with another ${what}`);
    const type = req.contentType ?? (req.fork ? rec.contentType : DEFAULT_TYPE);
    if (mediaType(type) !== mediaType(rec.contentType)) throw differs('content type');
    const givenExpiry = req.expiry.ttlS !== undefined || req.expiry.expiresAt !== undefined;
    if (givenExpiry || !rec.fork) {
      if (req.expiry.ttlS !== rec.ttlS) throw differs('TTL');
      if (req.expiry.expiresAt !== undefined && rec.expiresAt !== undefined) {
        if (Date.parse(req.expiry.expiresAt) !== Date.parse(rec.expiresAt)) throw differs('expiry');
      } else if (req.expiry.expiresAt !== rec.expiresAt) throw differs('expiry');
    }
    if (req.fork) {
      const f = rec.fork;
      if (!f || f.from !== req.fork.from || f.sub !== req.fork.sub) throw differs('fork');
      if (req.fork.offset !== undefined && req.fork.offset !== f.offset) throw differs('fork offset');
    }
    return rec;
  }

  async append(tenant: string, name: string, req: AppendRequest): Promise<AppendResult> {
    let rec = await this.open(tenant, name);
    const hasBody = req.body.length > 0;
    if (!hasBody && !req.closed) throw DsError.bad('empty_body', 'an append needs a body (or Stream-Closed: true)');
    let frame: Uint8Array | null = null;
    if (hasBody) {
      if (req.contentType === undefined) throw DsError.bad('invalid_request', 'an append needs a Content-Type');
      if (mediaType(req.contentType) !== mediaType(rec.contentType)) {
        throw DsError.conflict('content_type_mismatch', `stream ${name} holds ${rec.contentType}`);
      }
      frame = isJsonType(rec.contentType) ? jsonFrame(req.body) : req.body;
      if (!frame) throw DsError.bad('empty_body', 'an append of an empty JSON array appends nothing');
    }
    return this.serialized(`${tenant}\n${name}`, async () => {
      for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
        if (attempt > 0) rec = await this.open(tenant, name);
        const p = req.producer;
        if (p) {
          const dup = isDuplicate(rec, p);
          if (dup?.kind === 'duplicate') return { status: 204, record: rec, producer: dup };
          checkEpoch(rec, p);
        }
        if (rec.closed) {
          if (!hasBody && !p) return { status: 204, record: rec };
          throw DsError.conflict('stream_closed', `stream ${name} is closed`, {
            [H.closed]: 'true',
            [H.nextOffset]: formatOffset(rec.tail),
          });
        }
        if (p) checkSequence(rec, p);
        if (req.seq !== undefined && rec.lastSeq !== undefined && req.seq <= rec.lastSeq) {
          throw DsError.conflict('stream_seq_conflict', `Stream-Seq ${req.seq} is not after ${rec.lastSeq}`);
        }
        let pos: number | null = null;
        if (frame) {
          try {
            const msgId = p ? `p:${p.id}:${p.epoch}:${p.seq}` : undefined;
            pos = (await this.log.append(rec.id, frame, { expectedLastPos: rec.ownLast, msgId })).pos;
          } catch (err) {
            if (!(err instanceof ByteLogConflictError)) throw err;
            await this.repair(tenant, name, rec);
            continue;
          }
        }
        const next = await this.advance(tenant, name, rec, (r) => {
          if (pos !== null) {
            r.tail = Math.max(r.tail, pos);
            r.ownLast = Math.max(r.ownLast, pos);
          }
          if (p) r.producers[p.id] = { epoch: p.epoch, seq: p.seq };
          if (req.seq !== undefined) r.lastSeq = req.seq;
          if (req.closed) {
            r.closed = true;
            if (p) r.closedBy = p;
          }
        });
        this.log.notify(next.id);
        await this.touch(tenant, name, next);
        return {
          status: p && hasBody ? 200 : 204,
          record: next,
          ...(p ? { producer: { epoch: p.epoch, seq: p.seq } } : {}),
        };
      }
      throw new DsError(503, 'service_unavailable', `stream ${name} is contended; retry`, { 'Retry-After': '1' });
    });
  }

  /** Re-reads the record and applies `change` to it until the compare-and-set holds. */
  private async advance(
    tenant: string,
    name: string,
    rec: DsStreamRecord,
    change: (r: DsStreamRecord) => void,
  ): Promise<DsStreamRecord> {
    let cur = rec;
    for (let i = 0; i < MAX_RETRIES; i++) {
      const next = structuredClone(cur);
      change(next);
      next.rev = cur.rev + 1;
      if (await this.store.replace(tenant, name, next, cur.rev)) return next;
      const again = await this.store.get(tenant, name);
      if (!again) throw DsError.notFound(name);
      cur = again.record;
    }
    throw new DsError(503, 'service_unavailable', `stream ${name} is contended; retry`, { 'Retry-After': '1' });
  }

  /** The log is ahead of the record (another writer, or one that failed half-way): fold its newest frame in. */
  private async repair(tenant: string, name: string, rec: DsStreamRecord): Promise<void> {
    const fresh = await this.store.get(tenant, name);
    if (fresh && fresh.record.rev !== rec.rev) return;
    const last = await this.log.lastPos(rec.id);
    await this.advance(tenant, name, rec, (r) => {
      r.ownLast = Math.max(r.ownLast, last);
      r.tail = Math.max(r.tail, last);
    });
  }

  async delete(tenant: string, name: string): Promise<void> {
    const rec = await this.open(tenant, name);
    await this.drop(tenant, name, rec);
  }

  /** Deleted or expired: kept as a soft-deleted record while forks read it, otherwise removed with its frames. */
  private async drop(tenant: string, name: string, rec: DsStreamRecord): Promise<void> {
    if (rec.refs > 0) {
      await this.advance(tenant, name, rec, (r) => {
        r.deleted = true;
      });
      return;
    }
    if (!(await this.store.remove(tenant, name, rec.rev))) {
      const again = await this.store.get(tenant, name);
      if (again && !again.record.deleted) return this.drop(tenant, name, again.record);
      return;
    }
    await this.log.delete(rec.id);
    this.log.notify(rec.id);
    if (rec.fork) await this.adjustRefs(tenant, rec.fork.from, -1);
  }

  /** A fork came or went; the last fork of a deleted source removes it (and so on up the chain). */
  private async adjustRefs(tenant: string, name: string, delta: number): Promise<void> {
    const got = await this.store.get(tenant, name);
    if (!got) return;
    const next = await this.advance(tenant, name, got.record, (r) => {
      r.refs = Math.max(0, r.refs + delta);
    });
    if (next.deleted && next.refs === 0) await this.drop(tenant, name, next);
  }

  private serialized<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(key) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => {});
    this.locks.set(key, tail);
    void tail.then(() => {
      if (this.locks.get(key) === tail) this.locks.delete(key);
    });
    return run;
  }
}
