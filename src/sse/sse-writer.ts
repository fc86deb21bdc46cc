/**
 * Writes an Observable of SSE frames to an HTTP response.
 *
 * Headers exactly as the contract says (never compressed: the app runs no compression middleware); the opening
 * `retry:` and keepalive comment are flushed at once. Back-pressure: the source may ask `whenWritable()` before reading more (replay pages wait for the socket to drain); live frames
 * that pile up past SSE_MAX_BUFFER_BYTES drop the client, who resumes from its cursor, instead of growing memory.
 * Unsubscribing the source on close is the only cleanup a stream needs (hub, sequencer and timers live there).
 *
 * Writes are coalesced per event-loop turn: frames written in one turn (a burst of live events parsed from one
 * broker read, a replay page, an event and a heartbeat) are joined and handed to the response once, at
 * `setImmediate`, by ONE shared flusher for every connection. A write per frame per client cost one `writev`
 * syscall (plus Node's chunked-encoding and cork/uncork work) each, which the bench's profile showed as the
 * largest cost of fan-out and replay; under load, the slower a turn, the more frames each flush carries. The
 * added delay is the rest of the current turn, never a timer.
 */
import type { Request, Response } from 'express';
import type { Observable, Subscription } from 'rxjs';
import { openingFrame } from './sse-frames.js';
import type { SseConnection, SseConnections } from './sse-connections.js';

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
  return /(?:^|,)\s*close\s*(?:,|$)/i.test(String(req.headers?.connection ?? '')) ? { ...SSE_HEADERS, Connection: 'close' } : { ...SSE_HEADERS };
}

/**
 * Runs every scheduled flush once per event-loop turn (one `setImmediate` for all connections, not one per
 * connection). Exported for tests.
 */
export class TurnFlusher {
  private queue: (() => void)[] = [];
  private scheduled = false;

  schedule(flush: () => void): void {
    this.queue.push(flush);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.run);
  }

  private readonly run = (): void => {
    this.scheduled = false;
    const q = this.queue;
    this.queue = [];
    for (const f of q) f();
  };
}

const flusher = new TurnFlusher();

export interface SseSink {
  /** Resolves when the response has room for more (immediately unless the socket buffer is full). */
  whenWritable(): Promise<void>;
}

export interface SseWriteOptions {
  tenant: string;
  jobId: string;
  retryMs: number;
  maxBufferBytes: number;
  /** Called after the response has ended, whatever the reason. */
  onClose?: (reason: string) => void;
}

export function writeSse(
  req: Request,
  res: Response,
  registry: SseConnections,
  makeSource: (sink: SseSink) => Observable<string>,
  opts: SseWriteOptions,
): void {
  const socket = req.socket;
  socket.setNoDelay(true);
  socket.setKeepAlive(true);
  socket.setTimeout(0);
  res.writeHead(200, sseHeadersFor(req));
  res.write(openingFrame(opts.retryMs));

  let closed = false;
  let subscription: Subscription | null = null;
  let drainWaiters: (() => void)[] = [];
  /** Frames written this turn, not yet handed to the response. */
  let pending = '';
  // Slow clients. The bound is judged on what was still unsent when a burst of writes BEGAN (a burst = the writes
  // of one turn of the event loop: one replay page, one live event, one heartbeat): within a burst the client had
  // no chance to read. A client is dropped when its unsent output is over SSE_MAX_BUFFER_BYTES at two burst starts
  // with no 'drain' in between, i.e. it is over the bound AND not catching up. A healthy client that is still
  // taking a large replay page (replay waits for 'drain' between pages) is not mistaken for a stalled one; memory
  // per client stays under the bound plus two bursts.
  let burstStart = -1;
  let overSinceDrain = false;
  /** Ends the burst and hands its frames to the response (the shared per-turn flusher calls it; so may replay). */
  const flush = () => {
    burstStart = -1;
    if (pending === '' || closed) return;
    const chunk = pending;
    pending = '';
    res.write(chunk);
  };

  const finish = (reason: string) => {
    if (closed) return;
    closed = true;
    registry.remove(conn);
    subscription?.unsubscribe();
    subscription = null;
    for (const w of drainWaiters) w();
    drainWaiters = [];
    opts.onClose?.(reason);
  };

  const conn: SseConnection = {
    tenant: opts.tenant,
    jobId: opts.jobId,
    res,
    write(frame: string): boolean {
      if (closed) return false;
      if (burstStart < 0) {
        // a burst starts right after a flush, so nothing is pending and the write below schedules the next one
        burstStart = res.writableLength;
        if (burstStart <= opts.maxBufferBytes) overSinceDrain = false;
        else if (!overSinceDrain) overSinceDrain = true;
        else burstStart = Infinity; // over the bound twice without draining: drop (below)
      }
      if (burstStart === Infinity) {
        registry.noteSlowDrop(conn);
        conn.end('slow');
        return false;
      }
      if (pending === '') flusher.schedule(flush);
      pending += frame;
      return true;
    },
    end(reason) {
      if (closed) return;
      if (reason === 'slow') {
        pending = '';
        finish(reason);
        res.destroy();
        return;
      }
      if (reason === 'shutdown') pending += `retry: ${Math.min(opts.retryMs, 1000)}\n: server shutting down, resume from your last event id\n\n`;
      const last = pending;
      pending = '';
      finish(reason);
      if (last) res.end(last);
      else res.end();
    },
  };

  const sink: SseSink = {
    whenWritable: () => {
      flush(); // what this turn produced counts against the socket's buffer now
      return closed || !res.writableNeedDrain ? Promise.resolve() : new Promise<void>((resolve) => drainWaiters.push(resolve));
    },
  };
  res.on('drain', () => {
    overSinceDrain = false;
    const w = drainWaiters;
    drainWaiters = [];
    for (const f of w) f();
  });
  res.on('close', () => finish('client closed'));

  registry.add(conn);
  subscription = makeSource(sink).subscribe({
    next: (frame) => {
      if (conn.write(frame)) registry.stats.eventsDelivered++;
    },
    error: () => conn.end('error'),
    complete: () => conn.end('done'),
  });
  if (closed) subscription.unsubscribe();
}
