/**
 * Writes a source of SSE frames to an HTTP response: the API's headers (never compressed), the opening `retry:` and
 * keepalive at once, back-pressure (`whenWritable()`; a client that stops reading is dropped and resumes from its
 * cursor), and one write per connection per event-loop turn. The source is anything with
 * `subscribe({ next, error, complete })` returning `{ unsubscribe() }` (an RxJS Observable fits); unsubscribing it
 * on close is the only cleanup a stream needs.
 */
import type { Socket } from 'node:net';
import type { Request, Response } from 'express';
import { KEEPALIVE_FRAME, openingFrame } from './sse-frames.js';
import type { SseConnection, SseConnections, StreamShare } from './sse-connections.js';

export const SSE_HEADERS = {
  'Content-Type': 'text/event-stream',
  'Cache-Control': 'no-cache, no-transform',
  Connection: 'keep-alive',
  'X-Accel-Buffering': 'no',
} as const;

/**
 * The stream's headers for this request: a client that sent `Connection: close` gets `Connection: close`, and Node
 * then closes the socket when the stream ends instead of keeping it open for a request that will never come.
 */
export function sseHeadersFor(req: { headers?: { connection?: string | string[] } }): Record<string, string> {
  return /(?:^|,)\s*close\s*(?:,|$)/i.test(String(req.headers?.connection ?? ''))
    ? { ...SSE_HEADERS, Connection: 'close' }
    : { ...SSE_HEADERS };
}

/** Something the {@link TurnFlusher} runs once per turn: an object with `flush(now)` or a function. */
export type Flushable = { flush(now: number): void } | ((now: number) => void);

/**
 * Runs every scheduled flush once per event-loop turn (one `setImmediate` for all connections, not one per
 * connection), with the turn's `performance.now()` read once. Frames written in one turn (a burst of live events
 * from one broker read, a replay page, an event and a heartbeat) are thus joined and handed to the response once: a
 * write per frame per client costs a `writev` syscall plus Node's chunked-encoding work each, the largest cost of
 * fan-out and replay in the bench's profile. The added delay is the rest of the current turn, never a timer.
 * Exported for tests (and the bench's ceiling server).
 */
export class TurnFlusher {
  private queue: Flushable[] = [];
  private scheduled = false;

  schedule(flush: Flushable): void {
    this.queue.push(flush);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.run);
  }

  private readonly run = (): void => {
    this.scheduled = false;
    const q = this.queue;
    this.queue = [];
    const now = performance.now();
    for (const f of q) {
      if (typeof f === 'function') f(now);
      else f.flush(now);
    }
  };
}

const flusher = new TurnFlusher();

export interface SseSink {
  /** Resolves when the response has room for more (immediately unless the socket buffer is full). */
  whenWritable(): Promise<void>;
}

/** What the writer needs of a stream source (an RxJS Observable fits). */
export interface SseObserver {
  next(frame: string): void;
  error(err: unknown): void;
  complete(): void;
}
export interface SseSource {
  subscribe(observer: SseObserver): { unsubscribe(): void };
}

export interface SseWriteOptions {
  tenant: string;
  jobId: string;
  /** The share link the stream is opened with, if any. */
  share?: StreamShare;
  retryMs: number;
  maxBufferBytes: number;
  /**
   * A client whose socket has not drained for this long while output waits for it is dropped (checked at its next
   * burst, at the latest its next keepalive). 0 or unset ⇒ no such bound.
   */
  stallTimeoutMs?: number;
  /** Called after the response has ended, whatever the reason. */
  onClose?: (reason: string) => void;
}

/** A keepalive comment as one HTTP/1.1 chunk: written to the socket in one piece, no chunk framing per write. */
const KEEPALIVE_CHUNK = Buffer.from(
  `${Buffer.byteLength(KEEPALIVE_FRAME).toString(16)}\r\n${KEEPALIVE_FRAME}\r\n`,
  'latin1',
);
const STREAM = Symbol('jobstream.sseStream');
type StreamRes = Response & { [STREAM]?: SseStream };

function onResDrain(this: StreamRes): void {
  this[STREAM]?.drained();
}
function onResClose(this: StreamRes): void {
  this[STREAM]?.finish('client closed');
}

/**
 * One open SSE response: the per-turn write buffer, the slow-client bound, back-pressure for the source, and the
 * registration in {@link SseConnections}. Observer of its own source (`next`/`error`/`complete`). Live frames that
 * pile up past SSE_MAX_BUFFER_BYTES, or a socket that has not drained for SSE_STALL_TIMEOUT_MS, drop the client (it
 * resumes from its cursor) instead of growing memory or holding a replay page forever. Methods live on the
 * prototype and the response gets two shared listeners, so an idle stream holds no closures of its own.
 */
export class SseStream implements SseConnection, SseSink, SseObserver {
  readonly tenant: string;
  readonly jobId: string;
  readonly share?: StreamShare;
  private closed = false;
  private subscription: { unsubscribe(): void } | null = null;
  private drainWaiters: (() => void)[] | null = null;
  /** Frames written this turn, not yet handed to the response. */
  private pending = '';
  // Slow clients. The bound is judged on what was still unsent when a burst of writes BEGAN (a burst = the writes
  // of one turn of the event loop: one replay page, one live event, one heartbeat): within a burst the client had
  // no chance to read. A client is dropped when its unsent output is over SSE_MAX_BUFFER_BYTES at two burst starts
  // with no 'drain' in between, i.e. it is over the bound AND not catching up. A healthy client that is still
  // taking a large replay page (replay waits for 'drain' between pages) is not mistaken for a stalled one; memory
  // per client stays under the bound plus two bursts.
  private burstStart = -1;
  private overSinceDrain = false;
  /** When the response last refused more (a write returned false); 0 once it drained. */
  private needDrainSince = 0;

  constructor(
    readonly res: Response,
    private readonly registry: SseConnections,
    private readonly opts: SseWriteOptions,
  ) {
    this.tenant = opts.tenant;
    this.jobId = opts.jobId;
    if (opts.share) this.share = opts.share;
  }

  /** Sends the head and the opening frame, registers, and subscribes to the source. */
  start(source: SseSource): void {
    const res = this.res as StreamRes;
    res[STREAM] = this;
    res.on('drain', onResDrain);
    res.on('close', onResClose);
    this.registry.add(this);
    const subscription = source.subscribe(this);
    if (this.closed) subscription.unsubscribe();
    else this.subscription = subscription;
  }

  // --- the source's observer
  next(frame: string): void {
    if (this.write(frame)) this.registry.stats.eventsDelivered++;
  }
  error(): void {
    this.end('error');
  }
  complete(): void {
    this.end('done');
  }

  // --- SseConnection
  write(frame: string): boolean {
    if (this.closed) return false;
    if (this.burstStart < 0) {
      // a burst starts right after a flush, so nothing is pending and the write below schedules the next one
      this.burstStart = this.res.writableLength;
      if (this.burstStart <= this.opts.maxBufferBytes) this.overSinceDrain = false;
      else if (!this.overSinceDrain) this.overSinceDrain = true;
      else this.burstStart = Infinity; // over the bound twice without draining: drop (below)
      if (this.stalled()) this.burstStart = Infinity;
    } else if (this.pending !== '' && this.pending.length + frame.length > this.opts.maxBufferBytes) {
      // A burst that outgrows the bound (a flood of live events in one turn) hands what it has to the response now
      // and is judged like a new burst: over the bound twice with no drain in between ⇒ dropped. So one client
      // costs at most about three times the bound plus one frame within a burst too, and any single event
      // (however large) still gets through on its own.
      const chunk = this.pending;
      this.pending = '';
      if (!this.res.write(chunk) && this.needDrainSince === 0) this.needDrainSince = performance.now();
      if (this.res.writableLength > this.opts.maxBufferBytes) {
        if (this.overSinceDrain) this.burstStart = Infinity;
        else this.overSinceDrain = true;
      }
    }
    if (this.burstStart === Infinity) {
      this.registry.noteSlowDrop(this);
      this.end('slow');
      return false;
    }
    if (this.pending === '') flusher.schedule(this);
    this.pending += frame;
    return true;
  }

  /**
   * A keepalive (from the heartbeat tick). On a connection with nothing pending and nothing unsent — every idle
   * stream — it goes to the socket at once as one pre-built chunk: a burst of its own that ends right away (the
   * slow-client rule sees an empty buffer), without a round through the per-turn flusher. Otherwise it joins this
   * turn's frames like any write.
   */
  keepalive(): boolean {
    if (this.closed) return false;
    if (this.pending === '' && this.burstStart < 0 && this.res.writableLength === 0 && this.writeKeepaliveChunk()) {
      this.overSinceDrain = false;
      return true;
    }
    return this.write(KEEPALIVE_FRAME);
  }

  end(reason: 'done' | 'shutdown' | 'slow' | 'error' | 'revoked'): void {
    if (this.closed) return;
    if (reason === 'slow') {
      this.pending = '';
      this.finish(reason);
      // what Node still holds corked (the head of a response dropped in its first tick) goes to the kernel first, so
      // the client sees a response cut between frames and resumes from its last complete event
      const socket = this.res.socket as Partial<Socket> | null;
      if (typeof socket?.uncork === 'function') socket.uncork();
      this.res.destroy();
      return;
    }
    if (reason === 'shutdown')
      this.pending += `retry: ${Math.min(this.opts.retryMs, 1000)}\n: server shutting down, resume from your last event id\n\n`;
    const last = this.pending;
    this.pending = '';
    this.finish(reason);
    if (last) this.res.end(last);
    else this.res.end();
  }

  // --- SseSink
  whenWritable(): Promise<void> {
    const now = performance.now();
    this.flush(now); // what this turn produced counts against the socket's buffer now
    if (this.closed || !this.res.writableNeedDrain) return Promise.resolve();
    if (this.needDrainSince === 0) this.needDrainSince = now;
    return new Promise<void>((resolve) => (this.drainWaiters ??= []).push(resolve));
  }

  /** The socket has refused more for longer than the stall timeout: the client is not reading. */
  private stalled(): boolean {
    const limit = this.opts.stallTimeoutMs ?? 0;
    return limit > 0 && this.needDrainSince > 0 && performance.now() - this.needDrainSince > limit;
  }

  /** Ends the burst and hands its frames to the response (the shared per-turn flusher calls it; so may replay). */
  flush(now: number): void {
    this.burstStart = -1;
    if (this.pending === '' || this.closed) return;
    const chunk = this.pending;
    this.pending = '';
    if (chunk !== KEEPALIVE_FRAME || !this.writeKeepaliveChunk()) {
      if (!this.res.write(chunk) && this.needDrainSince === 0) this.needDrainSince = now;
    }
  }

  /**
   * A lone keepalive goes to the socket as one pre-built chunk (the bytes `res.write` would send: size line, frame,
   * CRLF), skipping Node's per-write chunk framing and cork/uncork — most of a keepalive's CPU at 10,000 idle
   * streams. Only while this response owns a live socket with chunked encoding (not for HTTP/1.0 clients or a HEAD).
   */
  private writeKeepaliveChunk(): boolean {
    const res = this.res;
    const socket = res.socket as (Socket & { _httpMessage?: unknown }) | null;
    if (!res.chunkedEncoding || socket === null || socket._httpMessage !== res || !socket.writable || res.writableEnded)
      return false;
    socket.write(KEEPALIVE_CHUNK);
    return true;
  }

  drained(): void {
    this.overSinceDrain = false;
    this.needDrainSince = 0;
    const w = this.drainWaiters;
    if (w === null) return;
    this.drainWaiters = null;
    for (const f of w) f();
  }

  finish(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.registry.remove(this);
    this.subscription?.unsubscribe();
    this.subscription = null;
    this.drained();
    this.opts.onClose?.(reason);
  }
}

export function writeSse(
  req: Request,
  res: Response,
  registry: SseConnections,
  makeSource: (sink: SseSink) => SseSource,
  opts: SseWriteOptions,
): void {
  const socket = req.socket;
  socket.setNoDelay(true);
  socket.setKeepAlive(true);
  socket.setTimeout(0);
  res.writeHead(200, sseHeadersFor(req));
  res.write(openingFrame(opts.retryMs));
  const stream = new SseStream(res, registry, opts);
  stream.start(makeSource(stream));
}
