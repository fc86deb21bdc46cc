/**
 * Writes an Observable of SSE frames to an HTTP response.
 *
 * Headers exactly as the contract says (never compressed: the app runs no compression middleware); the opening
 * `retry:` and keepalive comment are flushed at once. Back-pressure: the source may ask `whenWritable()` before reading more (replay pages wait for the socket to drain); live frames
 * that pile up past SSE_MAX_BUFFER_BYTES drop the client, who resumes from its cursor, instead of growing memory.
 * Unsubscribing the source on close is the only cleanup a stream needs (hub, sequencer and timers live there).
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
  res.writeHead(200, SSE_HEADERS);
  res.write(openingFrame(opts.retryMs));

  let closed = false;
  let subscription: Subscription | null = null;
  let drainWaiters: (() => void)[] = [];
  // Slow clients. The bound is judged on what was still unsent when a burst of writes BEGAN (a burst = the writes
  // of one turn of the event loop: one replay page, one live event, one heartbeat): within a burst the client had
  // no chance to read. A client is dropped when its unsent output is over SSE_MAX_BUFFER_BYTES at two burst starts
  // with no 'drain' in between, i.e. it is over the bound AND not catching up. A healthy client that is still
  // taking a large replay page (replay waits for 'drain' between pages) is not mistaken for a stalled one; memory
  // per client stays under the bound plus two bursts.
  let burstStart = -1;
  let overSinceDrain = false;
  const endBurst = () => {
    burstStart = -1;
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
        burstStart = res.writableLength;
        setImmediate(endBurst);
        if (burstStart <= opts.maxBufferBytes) overSinceDrain = false;
        else if (!overSinceDrain) overSinceDrain = true;
        else burstStart = Infinity; // over the bound twice without draining: drop (below)
      }
      if (burstStart === Infinity) {
        registry.noteSlowDrop(conn);
        conn.end('slow');
        return false;
      }
      res.write(frame);
      return true;
    },
    end(reason) {
      if (closed) return;
      if (reason === 'slow') {
        finish(reason);
        res.destroy();
        return;
      }
      if (reason === 'shutdown') res.write(`retry: ${Math.min(opts.retryMs, 1000)}\n: server shutting down, resume from your last event id\n\n`);
      finish(reason);
      res.end();
    },
  };

  const sink: SseSink = {
    whenWritable: () =>
      closed || !res.writableNeedDrain ? Promise.resolve() : new Promise<void>((resolve) => drainWaiters.push(resolve)),
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
