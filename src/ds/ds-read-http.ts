/**
 * GET of a stream: a catch-up read, a long-poll (wait up to DS_LONG_POLL_MS for the next append), or SSE (data
 * events, each followed by a control event with the next offset, until the client leaves, the stream closes, or
 * DS_LONG_POLL_MS × 3 pass — then the client reconnects from its last offset). Readers wait on the log's wake-ups
 * and re-read the stream's record on each, so a close without data wakes them too.
 */
import type { Request, Response } from 'express';
import { readBody } from './ds-body.js';
import { DsError } from './ds-error.js';
import { H, OFFSET_FORMAT, ZERO_OFFSET, isJsonType, isTextType, nextCursor } from './ds-protocol.js';

export const MAX_READ_FRAMES = 1000;
export const MAX_READ_BYTES = 1024 * 1024;

/** What a reader needs to know of a stream now. */
export interface ReadState {
  contentType: string;
  closed: boolean;
  /** Offset after the newest message. */
  tail: string;
  /** Identifies the stream's incarnation in ETags. */
  etag: string;
}

export interface ReadFrame {
  /** Offset right after this frame. */
  offset: string;
  data: Uint8Array;
}

/** A stream as readers see it (a Durable Stream, or a job): offsets are fixed-width strings in log order. */
export interface ReadSource {
  /** Null: the stream is gone. */
  state(): Promise<ReadState | null>;
  frames(after: string, maxFrames: number): Promise<ReadFrame[]>;
  /** Wake-ups when the stream may have changed. */
  watch(listener: () => void): Promise<{ stop(): void }>;
}

export interface ReadQuery {
  offset?: string;
  live?: 'long-poll' | 'sse';
  cursor?: string;
}

/** The query of a read: one offset at most, a known live mode; unknown parameters are ignored. */
export function readQuery(url: string): ReadQuery {
  const q = new URLSearchParams(url.includes('?') ? url.slice(url.indexOf('?') + 1) : '');
  const one = (k: string) => {
    const all = q.getAll(k);
    if (all.length > 1) throw DsError.bad('invalid_request', `${k} given more than once`);
    return all[0];
  };
  const offset = one('offset');
  const live = one('live');
  if (offset !== undefined && offset.length === 0) throw DsError.bad('invalid_offset', 'offset is empty');
  if (live !== undefined && live !== 'long-poll' && live !== 'sse') {
    throw DsError.bad('invalid_request', 'live must be long-poll or sse');
  }
  if (live && offset === undefined) throw DsError.bad('invalid_request', `live=${live} needs an offset`);
  if (offset !== undefined && offset !== '-1' && offset !== 'now' && !OFFSET_FORMAT.test(offset)) {
    throw DsError.bad('invalid_offset', 'offset is not an offset of this server');
  }
  return { offset, live: live as ReadQuery['live'], cursor: one('cursor') };
}

export class DsReader {
  constructor(private readonly longPollMs: number) {}

  async get(req: Request, res: Response, src: ReadSource, state: ReadState, q: ReadQuery): Promise<void> {
    const now = q.offset === 'now';
    const after = q.offset === undefined || q.offset === '-1' ? ZERO_OFFSET : now ? state.tail : q.offset;
    if (q.live === 'sse') return this.sse(res, src, state, after, q);
    let frames = now ? [] : await src.frames(after, MAX_READ_FRAMES);
    if (frames.length === 0 && q.live === 'long-poll' && !(state.closed && after >= state.tail)) {
      const r = await this.waitForData(res, src, after);
      if (!r) return void res.destroy();
      state = r.state;
      frames = r.frames;
    }
    const next = frames.at(-1)?.offset ?? after;
    // read past the tail known when the request began: what is the stream now (closed after these frames?)
    if (next > state.tail) state = (await src.state()) ?? state;
    const atTail = next >= state.tail;
    res.setHeader('Content-Type', state.contentType);
    res.setHeader(H.nextOffset, next);
    res.setHeader('Cache-Control', 'no-store');
    if (atTail) res.setHeader(H.upToDate, 'true');
    if (atTail && state.closed) res.setHeader(H.closed, 'true');
    if (q.live === 'long-poll') res.setHeader(H.cursor, nextCursor(q.cursor));
    if (q.live === 'long-poll' && frames.length === 0) return void res.status(204).end();
    const etag = `"${state.etag}:${after}:${next}${atTail && state.closed ? ':c' : ''}"`;
    res.setHeader('ETag', etag);
    if (req.headers['if-none-match'] === etag) return void res.status(304).end();
    res.status(200).end(
      readBody(
        frames.map((f) => f.data),
        isJsonType(state.contentType),
      ),
    );
  }

  /** Waits for frames after `after` (or the stream's close) up to DS_LONG_POLL_MS; null when the client left. */
  private async waitForData(
    res: Response,
    src: ReadSource,
    after: string,
  ): Promise<{ state: ReadState; frames: ReadFrame[] } | null> {
    const waiter = new Waiter(res);
    const watch = await src.watch(() => waiter.wake());
    try {
      const deadline = Date.now() + this.longPollMs;
      for (;;) {
        const cur = await src.state();
        if (!cur) throw new DsError(404, 'not_found', 'the stream was deleted');
        const frames = await src.frames(after, MAX_READ_FRAMES);
        if (frames.length > 0 || (cur.closed && after >= cur.tail)) return { state: cur, frames };
        const left = deadline - Date.now();
        if (left <= 0) return { state: cur, frames };
        if ((await waiter.wait(left)) === 'gone') return null;
      }
    } finally {
      watch.stop();
      waiter.dispose();
    }
  }

  private async sse(res: Response, src: ReadSource, state: ReadState, after: string, q: ReadQuery): Promise<void> {
    const json = isJsonType(state.contentType);
    const text = isTextType(state.contentType);
    const waiter = new Waiter(res);
    const watch = await src.watch(() => waiter.wake());
    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream');
    res.setHeader('Cache-Control', 'no-cache, no-store');
    res.setHeader('X-Accel-Buffering', 'no');
    if (!text) res.setHeader(H.sseEncoding, 'base64');
    res.flushHeaders();
    const cursor = nextCursor(q.cursor);
    const deadline = Date.now() + this.longPollMs * 3;
    let first = true;
    try {
      for (;;) {
        const cur = first ? state : await src.state();
        if (!cur) break;
        const frames = await src.frames(after, MAX_READ_FRAMES);
        let out = '';
        for (let i = 0; i < frames.length; i++) {
          const f = frames[i]!;
          after = f.offset;
          out += dataEvent(f.data, json, text);
          out += control(after, cur, cursor, i === frames.length - 1);
        }
        const ended = cur.closed && after >= cur.tail;
        if (frames.length === 0 && (first || ended)) out += control(after, cur, cursor, true);
        first = false;
        if (out) res.write(out);
        if (ended) break;
        if (frames.length === MAX_READ_FRAMES) continue;
        const left = deadline - Date.now();
        if (left <= 0) break;
        if ((await waiter.wait(Math.min(left, this.longPollMs))) === 'gone') break;
      }
    } finally {
      watch.stop();
      waiter.dispose();
      res.end();
    }
  }
}

function dataEvent(data: Uint8Array, json: boolean, text: boolean): string {
  if (json) return `event: data\ndata:[${Buffer.from(data).toString('utf8')}]\n\n`;
  if (!text) return `event: data\ndata:${Buffer.from(data).toString('base64')}\n\n`;
  // every line break (CRLF, CR or LF) starts a new data: line, so a payload can never end the event early
  const lines = Buffer.from(data)
    .toString('utf8')
    .split(/\r\n|\r|\n/);
  return `event: data\n${lines.map((l) => `data:${l}`).join('\n')}\n\n`;
}

function control(after: string, state: ReadState, cursor: string, last: boolean): string {
  const atTail = last && after >= state.tail;
  const c: Record<string, unknown> = { streamNextOffset: after };
  if (atTail && state.closed) c['streamClosed'] = true;
  else c['streamCursor'] = cursor;
  if (atTail) c['upToDate'] = true;
  return `event: control\ndata:${JSON.stringify(c)}\n\n`;
}

/** A wake-up, a timeout, or the client leaving — whichever comes first. */
class Waiter {
  private resolve: ((r: 'wake' | 'timeout' | 'gone') => void) | null = null;
  private woken = false;
  private gone = false;
  private readonly onClose = () => {
    this.gone = true;
    this.resolve?.('gone');
  };

  // the response's close (not the request's, which closes once its body is read): the client left or we ended
  constructor(private readonly res: Response) {
    res.on('close', this.onClose);
  }

  wake(): void {
    this.woken = true;
    this.resolve?.('wake');
  }

  wait(ms: number): Promise<'wake' | 'timeout' | 'gone'> {
    if (this.gone) return Promise.resolve('gone');
    if (this.woken) {
      this.woken = false;
      return Promise.resolve('wake');
    }
    return new Promise((resolve) => {
      const t = setTimeout(() => done('timeout'), ms);
      const done = (r: 'wake' | 'timeout' | 'gone') => {
        clearTimeout(t);
        this.resolve = null;
        this.woken = false;
        resolve(r);
      };
      this.resolve = done;
    });
  }

  dispose(): void {
    this.res.off('close', this.onClose);
  }
}
