/**
 * The Durable Streams wire vocabulary: header names, offsets, and the validation of request headers. Offsets are
 * `<16 digits>_<16 digits>`: the second half is the log position of the last frame before the offset (0: the
 * start), so they compare as strings in log order; `-1` is the start, `now` the tail.
 */
import { DsError } from './ds-error.js';
import type { ProducerTuple } from './store/ds-store.port.js';

export const H = {
  nextOffset: 'Stream-Next-Offset',
  upToDate: 'Stream-Up-To-Date',
  cursor: 'Stream-Cursor',
  closed: 'Stream-Closed',
  ttl: 'Stream-TTL',
  expiresAt: 'Stream-Expires-At',
  seq: 'Stream-Seq',
  forkedFrom: 'Stream-Forked-From',
  forkOffset: 'Stream-Fork-Offset',
  forkSubOffset: 'Stream-Fork-Sub-Offset',
  sseEncoding: 'Stream-SSE-Data-Encoding',
  producerId: 'Producer-Id',
  producerEpoch: 'Producer-Epoch',
  producerSeq: 'Producer-Seq',
  expectedSeq: 'Producer-Expected-Seq',
  receivedSeq: 'Producer-Received-Seq',
} as const;

/** Every protocol header, for CORS (allowed on requests, exposed on responses). */
export const DS_REQUEST_HEADERS = [
  H.closed,
  H.ttl,
  H.expiresAt,
  H.seq,
  H.forkedFrom,
  H.forkOffset,
  H.forkSubOffset,
  H.producerId,
  H.producerEpoch,
  H.producerSeq,
  'If-None-Match',
];
export const DS_RESPONSE_HEADERS = [
  H.nextOffset,
  H.upToDate,
  H.cursor,
  H.closed,
  H.ttl,
  H.expiresAt,
  H.sseEncoding,
  H.producerEpoch,
  H.producerSeq,
  H.expectedSeq,
  H.receivedSeq,
  'ETag',
];

export const OFFSET_FORMAT = /^(\d{16})_(\d{16})$/;
const OFFSET = OFFSET_FORMAT;
export const ZERO_OFFSET = '0000000000000000_0000000000000000';
const UINT = /^(0|[1-9]\d{0,15})$/;

export function formatOffset(pos: number, high = 0): string {
  return `${String(high).padStart(16, '0')}_${String(pos).padStart(16, '0')}`;
}

/** Both halves of an offset (jobs use them as seq and log position). */
export function offsetPair(raw: string): [number, number] {
  const m = OFFSET.exec(raw);
  if (!m) throw DsError.bad('invalid_offset', `offset "${raw.slice(0, 64)}" is not an offset of this server`);
  return [Number(m[1]), Number(m[2])];
}

/** A client offset → the position to read after; null for `now` (the caller uses the tail). */
export function parseOffset(raw: string): number | null {
  if (raw === '-1') return 0;
  if (raw === 'now') return null;
  const m = OFFSET.exec(raw);
  if (!m) throw DsError.bad('invalid_offset', `offset "${raw.slice(0, 64)}" is not an offset of this server`);
  return Number(m[2]);
}

export function parseUint(raw: string, what: string): number {
  if (!UINT.test(raw) || !Number.isSafeInteger(Number(raw))) {
    throw DsError.bad('invalid_request', `${what} must be a non-negative integer without sign or leading zeros`);
  }
  return Number(raw);
}

export type Headers = Record<string, string | string[] | undefined>;

/** One header's value; a repeated header is refused (it would be ambiguous). */
export function header(h: Headers, name: string): string | undefined {
  const v = h[name.toLowerCase()];
  if (Array.isArray(v)) throw DsError.bad('invalid_request', `${name} given more than once`);
  return v;
}

/** The media type alone, lower-cased (`Application/JSON; charset=utf-8` → `application/json`). */
export function mediaType(contentType: string): string {
  return contentType.split(';')[0]!.trim().toLowerCase();
}

export const isJsonType = (ct: string) => mediaType(ct) === 'application/json';
/** Text types travel as SSE text; everything else as base64. */
export const isTextType = (ct: string) => {
  const t = mediaType(ct);
  return t.startsWith('text/') || t === 'application/json' || t.endsWith('+json') || t === 'application/ndjson';
};

export interface Expiry {
  ttlS?: number;
  expiresAt?: string;
}

export function parseExpiry(h: Headers): Expiry {
  const ttl = header(h, H.ttl);
  const exp = header(h, H.expiresAt);
  if (ttl !== undefined && exp !== undefined)
    throw DsError.bad('invalid_request', 'send Stream-TTL or Stream-Expires-At, not both');
  if (ttl !== undefined) return { ttlS: parseUint(ttl, H.ttl) };
  if (exp !== undefined) {
    const t = Date.parse(exp);
    if (!/^\d{4}-\d{2}-\d{2}T/.test(exp) || Number.isNaN(t)) {
      throw DsError.bad('invalid_request', `${H.expiresAt} must be an RFC 3339 timestamp`);
    }
    return { expiresAt: new Date(t).toISOString() };
  }
  return {};
}

export type { ProducerTuple } from './store/ds-store.port.js';

export function parseProducer(h: Headers): ProducerTuple | null {
  const id = header(h, H.producerId);
  const epoch = header(h, H.producerEpoch);
  const seq = header(h, H.producerSeq);
  if (id === undefined && epoch === undefined && seq === undefined) return null;
  if (id === undefined || epoch === undefined || seq === undefined) {
    throw DsError.bad('invalid_request', 'Producer-Id, Producer-Epoch and Producer-Seq go together');
  }
  if (id.length === 0 || id.length > 256) throw DsError.bad('invalid_request', 'Producer-Id must be 1–256 characters');
  return { id, epoch: parseUint(epoch, H.producerEpoch), seq: parseUint(seq, H.producerSeq) };
}

export function parseClosed(h: Headers): boolean {
  const v = header(h, H.closed);
  if (v === undefined) return false;
  if (v.toLowerCase() === 'true') return true;
  if (v.toLowerCase() === 'false') return false;
  throw DsError.bad('invalid_request', `${H.closed} must be "true" or "false"`);
}

export interface ForkRequest {
  from: string;
  offset?: number;
  sub: number;
}

/** `Stream-Forked-From` is a path relative to the `/ds` base: `/v1/stream/<name>`. */
export function parseFork(h: Headers): ForkRequest | null {
  const from = header(h, H.forkedFrom);
  const off = header(h, H.forkOffset);
  const subRaw = header(h, H.forkSubOffset);
  if (from === undefined) {
    if (off !== undefined || subRaw !== undefined) {
      throw DsError.bad('invalid_request', `${H.forkOffset} and ${H.forkSubOffset} need ${H.forkedFrom}`);
    }
    return null;
  }
  const m = /^\/v1\/stream\/(.+)$/.exec(from.split('?')[0]!);
  if (!m) throw DsError.bad('invalid_request', `${H.forkedFrom} must be a path /v1/stream/<name>`);
  let name: string;
  try {
    name = decodeURIComponent(m[1]!);
  } catch {
    throw DsError.bad('invalid_request', `${H.forkedFrom} is not a valid path`);
  }
  const sub = subRaw === undefined ? 0 : parseUint(subRaw, H.forkSubOffset);
  if (off === undefined && sub > 0) throw DsError.bad('invalid_request', `${H.forkSubOffset} needs ${H.forkOffset}`);
  const offset = off === undefined ? undefined : parseOffset(off);
  if (offset === null) throw DsError.bad('invalid_request', `${H.forkOffset} must be an offset`);
  return { from: name, offset, sub };
}

/**
 * Long-poll / SSE cursor: the current 20-second interval; a client that already holds it (or a later one, clocks
 * differ) gets a later one, so that caches never collapse two rounds of a reader into one.
 */
export function nextCursor(client: string | undefined, now = Date.now()): string {
  const current = Math.floor(now / 20_000);
  const c = client !== undefined && /^\d{1,16}$/.test(client) ? Number(client) : -1;
  return String(c >= current ? c + 1 : current);
}
