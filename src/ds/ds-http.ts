/**
 * The HTTP side of `/ds/v1/stream/<name>`: one method per verb, each parsing the protocol's headers and answering
 * with its status codes and headers. Names are per tenant; `jobs/<job_id>` are the tenant's jobs, read-only.
 */
import type { Request, Response } from 'express';
import { type ByteLog, EventLogUnavailableError } from '@jobstream/event-log';
import { JobStoreUnavailableError } from '@jobstream/job-store';
import { ApiError } from '../common/api-error.js';
import { TokenBuckets } from '../limits/token-buckets.js';
import { DsError } from './ds-error.js';
import {
  H,
  formatOffset,
  header,
  parseClosed,
  parseOffset,
  parseExpiry,
  parseFork,
  parseProducer,
  type Headers,
} from './ds-protocol.js';
import { DsReader, MAX_READ_BYTES, readQuery, type ReadSource, type ReadState } from './ds-read-http.js';
import { readFrames } from './ds-reads.js';
import type { DsStreams } from './ds-streams.js';
import type { DsStreamRecord } from './store/ds-store.port.js';
import { DsStoreUnavailableError } from './store/redis-ds-store.js';

export const JOBS_PREFIX = 'jobs/';
const MAX_NAME = 512;

export interface DsHttpOptions {
  longPollMs: number;
  createsPerMin: number;
  /** Live reads (long-poll, SSE) a tenant may hold open at once in this process; 0 ⇒ no cap. */
  maxLiveReadsPerTenant: number;
}

/** Streams of jobs, served read-only under `jobs/` (see ds-job-streams.ts). */
export interface JobStreamsReader {
  get(tenant: string, jobId: string, req: Request, res: Response, head: boolean): Promise<void>;
}

export type DsOutcome = 'ok' | 'client_error' | 'unavailable';

export class DsHttp {
  private readonly reader: DsReader;
  private readonly creates: TokenBuckets | null;
  private readonly liveReads = new Map<string, number>();

  constructor(
    private readonly streams: DsStreams,
    private readonly log: ByteLog,
    private readonly jobs: JobStreamsReader,
    private readonly opts: DsHttpOptions,
    private readonly observe: (op: string, outcome: DsOutcome) => void = () => {},
  ) {
    this.reader = new DsReader(opts.longPollMs);
    this.creates = opts.createsPerMin > 0 ? new TokenBuckets(opts.createsPerMin, 60_000) : null;
  }

  sweep(): void {
    this.creates?.sweep();
  }

  async handle(tenant: string, req: Request, res: Response): Promise<void> {
    const op = req.method.toLowerCase();
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Cross-Origin-Resource-Policy', 'cross-origin');
    try {
      if (req.method === 'GET' && /[?&]live=/.test(req.originalUrl)) this.admitLiveRead(tenant, res);
      const name = streamName(req.path);
      if (name.startsWith(JOBS_PREFIX)) {
        if (req.method !== 'GET' && req.method !== 'HEAD') {
          throw new DsError(403, 'forbidden', 'streams under jobs/ are the jobs themselves: read-only');
        }
        await this.jobs.get(tenant, name.slice(JOBS_PREFIX.length), req, res, req.method === 'HEAD');
      } else if (req.method === 'PUT') await this.put(tenant, name, req, res);
      else if (req.method === 'POST') await this.post(tenant, name, req, res);
      else if (req.method === 'DELETE') await this.delete(tenant, name, res);
      else if (req.method === 'HEAD') await this.head(tenant, name, res);
      else if (req.method === 'GET') await this.get(tenant, name, req, res);
      else throw new DsError(405, 'method_not_allowed', `${req.method} is not a Durable Streams method`);
      this.observe(op, 'ok');
    } catch (err) {
      this.observe(op, err instanceof DsError && err.status < 500 ? 'client_error' : 'unavailable');
      renderError(res, err);
    }
  }

  /** A live read holds a connection (and wake-ups) for up to DS_LONG_POLL_MS: capped per tenant, freed on close. */
  private admitLiveRead(tenant: string, res: Response): void {
    const n = this.liveReads.get(tenant) ?? 0;
    const max = this.opts.maxLiveReadsPerTenant;
    if (max > 0 && n >= max) {
      throw new DsError(429, 'too_many_connections', `at most ${max} open live reads per tenant; retry later`, {
        'Retry-After': '5',
      });
    }
    this.liveReads.set(tenant, n + 1);
    res.once('close', () => {
      const left = (this.liveReads.get(tenant) ?? 1) - 1;
      if (left > 0) this.liveReads.set(tenant, left);
      else this.liveReads.delete(tenant);
    });
  }

  /** Open live reads of a tenant (tests, metrics). */
  liveReadsOf(tenant: string): number {
    return this.liveReads.get(tenant) ?? 0;
  }

  private async put(tenant: string, name: string, req: Request, res: Response): Promise<void> {
    const h = req.headers as Headers;
    const expiry = parseExpiry(h);
    const fork = parseFork(h);
    const closed = parseClosed(h);
    const contentType = header(h, 'content-type');
    const exists = await this.streams.lookup(tenant, name);
    if (!exists && this.creates) {
      const r = this.creates.take(tenant);
      if (!r.ok) {
        throw new DsError(429, 'rate_limited', `too many streams created; retry in ${r.retryAfterS} s`, {
          'Retry-After': String(r.retryAfterS),
        });
      }
    }
    const { created, record } = await this.streams.create(tenant, name, {
      contentType,
      expiry,
      closed,
      fork,
      body: bodyOf(req),
    });
    this.metaHeaders(res, record);
    if (created) {
      res.setHeader('Location', `${req.protocol}://${req.get('host') ?? 'localhost'}${req.originalUrl.split('?')[0]}`);
    }
    res.status(created ? 201 : 200).end();
  }

  private async post(tenant: string, name: string, req: Request, res: Response): Promise<void> {
    const h = req.headers as Headers;
    const r = await this.streams.append(tenant, name, {
      contentType: header(h, 'content-type'),
      body: bodyOf(req),
      closed: parseClosed(h),
      producer: parseProducer(h),
      seq: header(h, H.seq),
    });
    res.setHeader(H.nextOffset, formatOffset(r.record.tail));
    if (r.record.closed) res.setHeader(H.closed, 'true');
    if (r.producer) {
      res.setHeader(H.producerEpoch, String(r.producer.epoch));
      res.setHeader(H.producerSeq, String(r.producer.seq));
    }
    res.status(r.status).end();
  }

  private async delete(tenant: string, name: string, res: Response): Promise<void> {
    await this.streams.delete(tenant, name);
    res.status(204).end();
  }

  private async head(tenant: string, name: string, res: Response): Promise<void> {
    const rec = await this.streams.open(tenant, name);
    this.metaHeaders(res, rec);
    res.setHeader('Cache-Control', 'no-store');
    res.status(200).end();
  }

  private async get(tenant: string, name: string, req: Request, res: Response): Promise<void> {
    const q = readQuery(req.originalUrl);
    const rec = await this.streams.open(tenant, name);
    await this.streams.touch(tenant, name, rec);
    let cur = rec;
    const src: ReadSource = {
      state: async () => {
        const r = await this.streams.lookup(tenant, name);
        if (!r || r.deleted || r.id !== rec.id) return null;
        cur = r;
        return readState(r);
      },
      frames: async (after, max) =>
        (await readFrames(this.log, cur, parseOffset(after) ?? cur.tail, max, MAX_READ_BYTES)).map((f) => ({
          offset: formatOffset(f.pos),
          data: f.data,
        })),
      watch: (listener) => this.log.watch(rec.id, listener),
    };
    await this.reader.get(req, res, src, readState(rec), q);
  }

  private metaHeaders(res: Response, rec: DsStreamRecord): void {
    res.setHeader('Content-Type', rec.contentType);
    res.setHeader(H.nextOffset, formatOffset(rec.tail));
    if (rec.ttlS !== undefined) res.setHeader(H.ttl, String(rec.ttlS));
    if (rec.expiresAt !== undefined) res.setHeader(H.expiresAt, rec.expiresAt);
    if (rec.closed) res.setHeader(H.closed, 'true');
  }
}

function readState(r: DsStreamRecord): ReadState {
  return { contentType: r.contentType, closed: r.closed, tail: formatOffset(r.tail), etag: r.id };
}

/** `/ds/v1/stream/<name>` → the name (percent-decoded, 1–512 characters, no control characters). */
export function streamName(path: string): string {
  const m = /^\/ds\/v1\/stream\/(.+)$/.exec(path);
  let name = '';
  try {
    name = m ? decodeURIComponent(m[1]!) : '';
  } catch {
    // malformed escapes fall through to the refusal below
  }
  // eslint-disable-next-line no-control-regex -- refusing control characters is the point
  if (!name || name.length > MAX_NAME || /[\u0000-\u001f\u007f]/.test(name)) {
    throw DsError.bad('invalid_name', `a stream name is 1–${MAX_NAME} printable characters`);
  }
  return name;
}

function bodyOf(req: Request): Uint8Array {
  const b: unknown = req.body;
  return Buffer.isBuffer(b) ? b : new Uint8Array(0);
}

export function renderError(res: Response, err: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  let e: DsError;
  if (err instanceof DsError) e = err;
  else if (err instanceof ApiError) {
    // the jobs' own refusals (an unknown or another tenant's job): their status and contract error, our headers
    const body = err.getResponse() as { error: { code: string; message: string } };
    e = new DsError(err.getStatus(), body.error.code, body.error.message, err.headers);
  } else if (
    err instanceof EventLogUnavailableError ||
    err instanceof DsStoreUnavailableError ||
    err instanceof JobStoreUnavailableError
  ) {
    e = new DsError(503, 'service_unavailable', 'the stream store is unavailable; retry', { 'Retry-After': '1' });
  } else throw err;
  for (const [k, v] of Object.entries(e.headers)) res.setHeader(k, v);
  res.status(e.status).json({ error: { code: e.code, message: e.message } });
}
