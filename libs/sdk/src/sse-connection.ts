/**
 * One SSE connection: one `GET …/stream` request whose body is parsed with `eventsource-parser` into frames.
 *
 * Back-pressure: a pump reads the body into a bounded queue and stops calling `reader.read()` while the queue
 * holds `queueSize` frames or more, so a slow consumer leaves the bytes in the transport (the fetch body stream,
 * then the socket buffers, then the server) instead of growing this process's memory. The bound is a high-water
 * mark: one network chunk is always parsed whole, so the queue may exceed it by the frames of that one chunk.
 *
 * No reconnect logic here — see `stream.ts`.
 */
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { JobstreamConnectionError, abortReason, errorFromResponse } from './errors.js';
import { describe, type Transport } from './transport.js';

/** A parsed SSE message (comments and `retry:` lines are reported through callbacks instead). */
export type SseFrame = EventSourceMessage;

export interface SseConnectionOptions {
  transport: Transport;
  url: string;
  /** Aborting it closes the connection; pending reads reject with the signal's reason. */
  signal?: AbortSignal;
  /** High-water mark of the frame queue. Default 64. */
  queueSize?: number;
  /** Close as `idle_timeout` when no byte arrives for this long while reading (0 = never). Default 0. */
  idleTimeoutMs?: number;
  /** Longest line / event the parser buffers before declaring a protocol error. Default 8 MiB of characters. */
  maxBufferSize?: number;
  onRetry?: (ms: number) => void;
  onComment?: (comment: string) => void;
}

export interface SseConnectionStats {
  /** Frames parsed but not yet taken by the consumer. */
  buffered: number;
  /** The most frames ever buffered at once on this connection. */
  maxBuffered: number;
  /** Body bytes read from the transport so far. */
  bytesRead: number;
}

export interface SseConnection {
  /** The next frame; `undefined` when the response ended; rejects on failure or abort. */
  next(): Promise<SseFrame | undefined>;
  /** Stops reading and releases the request. Idempotent. */
  close(): void;
  readonly stats: SseConnectionStats;
}

/**
 * Opens the stream. Rejects with {@link JobstreamError} for a non-2xx answer, {@link JobstreamConnectionError}
 * when the request fails or the answer is not `text/event-stream`, or the signal's reason on abort.
 */
export async function openSseConnection(o: SseConnectionOptions): Promise<SseConnection> {
  const queueSize = Math.max(1, o.queueSize ?? 64);
  const controller = new AbortController();
  const onOuterAbort = () => controller.abort(o.signal!.reason);
  if (o.signal?.aborted) throw abortReason(o.signal);
  o.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const detach = () => o.signal?.removeEventListener('abort', onOuterAbort);

  let res: Response;
  try {
    res = await o.transport.fetch(o.url, {
      method: 'GET',
      // Only CORS-safelisted headers of our own (plus Authorization): no `Cache-Control`, no `Last-Event-ID` (the
      // cursor travels as `?after=`), and no `cache` init field, which some runtimes (Cloudflare Workers) reject.
      headers: o.transport.headers({ Accept: 'text/event-stream' }),
      signal: controller.signal,
    });
  } catch (err) {
    detach();
    throw err;
  }
  if (!res.ok) {
    detach();
    throw await errorFromResponse(res);
  }
  const type = res.headers.get('content-type') ?? '';
  if (!type.toLowerCase().startsWith('text/event-stream') || !res.body) {
    detach();
    controller.abort();
    throw new JobstreamConnectionError(
      'protocol',
      `expected text/event-stream, got ${res.status} "${type || 'no content type'}"`,
    );
  }

  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  const queue: SseFrame[] = [];
  const stats: SseConnectionStats = { buffered: 0, maxBuffered: 0, bytesRead: 0 };
  let ended = false;
  let failure: unknown;
  let closed = false;
  // One waiter on each side: the consumer waiting for a frame, the pump waiting for room.
  let wakeConsumer: (() => void) | undefined;
  let wakePump: (() => void) | undefined;
  const notifyConsumer = () => {
    const w = wakeConsumer;
    wakeConsumer = undefined;
    w?.();
  };
  const notifyPump = () => {
    const w = wakePump;
    wakePump = undefined;
    w?.();
  };

  const parser = createParser({
    onEvent: (msg) => {
      queue.push(msg);
      stats.buffered = queue.length;
      if (queue.length > stats.maxBuffered) stats.maxBuffered = queue.length;
    },
    onRetry: (ms) => o.onRetry?.(ms),
    onComment: (c) => o.onComment?.(c),
    onError: (err) => {
      // Unknown fields and bad retry values are ignored, as the SSE spec says; only runaway buffers are fatal.
      if (err.type === 'max-buffer-size-exceeded') {
        throw new JobstreamConnectionError(
          'protocol',
          `SSE line or event exceeds ${o.maxBufferSize ?? 8 << 20} characters`,
        );
      }
    },
    maxBufferSize: o.maxBufferSize ?? 8 << 20,
  });

  const read = (): Promise<ReadableStreamReadResult<Uint8Array>> => {
    const idle = o.idleTimeoutMs ?? 0;
    if (idle <= 0) return reader.read();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        reject(new JobstreamConnectionError('idle_timeout', `no data for ${idle} ms`));
      }, idle);
      reader.read().then(
        (r) => {
          clearTimeout(t);
          resolve(r);
        },
        (e: unknown) => {
          clearTimeout(t);
          reject(e);
        },
      );
    });
  };

  const pump = async () => {
    try {
      for (;;) {
        while (queue.length >= queueSize && !closed) await new Promise<void>((r) => (wakePump = r));
        if (closed) return;
        const { done, value } = await read();
        if (done) {
          const rest = decoder.decode();
          if (rest) parser.feed(rest);
          ended = true;
          return;
        }
        stats.bytesRead += value.byteLength;
        parser.feed(decoder.decode(value, { stream: true }));
        notifyConsumer();
      }
    } catch (err) {
      if (controller.signal.aborted && !(err instanceof JobstreamConnectionError)) {
        failure = abortReason(controller.signal);
      } else if (err instanceof JobstreamConnectionError) {
        failure = err;
      } else {
        failure = new JobstreamConnectionError('network', `stream interrupted: ${describe(err)}`, { cause: err });
      }
      controller.abort(failure);
      reader.cancel(failure).catch(() => {});
    } finally {
      detach();
      notifyConsumer();
    }
  };
  void pump();

  return {
    stats,
    async next() {
      for (;;) {
        if (queue.length > 0) {
          const f = queue.shift()!;
          stats.buffered = queue.length;
          if (queue.length < queueSize) notifyPump();
          return f;
        }
        if (closed) return undefined;
        // eslint-disable-next-line @typescript-eslint/only-throw-error -- a JobstreamConnectionError or the signal's abort reason
        if (failure !== undefined) throw failure;
        if (ended) return undefined;
        await new Promise<void>((r) => (wakeConsumer = r));
      }
    },
    close() {
      if (closed) return;
      closed = true;
      queue.length = 0;
      stats.buffered = 0;
      controller.abort();
      reader.cancel().catch(() => {});
      detach();
      notifyPump();
      notifyConsumer();
    },
  };
}
