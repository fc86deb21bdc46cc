/**
 * A streaming SSE client for tests: reads the response body as it arrives (fetch + eventsource-parser), keeping
 * events, comments and retry hints in arrival order, so tests can assert ordering (e.g. a keepalive before the
 * first token) and stop reading at any point (drop the connection).
 */
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import type { JobEvent } from '@jobstream/contracts';

export type SseItem =
  | { kind: 'event'; id: string; type: string; event: JobEvent }
  | { kind: 'comment'; text: string }
  | { kind: 'retry'; ms: number };

export interface SseResponse {
  status: number;
  headers: Headers;
  /** JSON body for non-200 answers. */
  body?: unknown;
  items: SseItem[];
  events(): (JobEvent & { id: string })[];
  /** Resolves when the server ended the response (or the read was aborted). */
  ended: Promise<'ended' | 'aborted'>;
  /** Resolves once `pred` holds for what was received so far. */
  until(pred: (items: SseItem[]) => boolean, timeoutMs?: number): Promise<void>;
  /** Drops the connection now. */
  close(): void;
}

export interface OpenOptions {
  headers?: Record<string, string>;
  /**
   * Re-open after a 503 as a real client does (waiting the `Retry-After` seconds, at most this many times): a
   * loaded machine may answer a burst of opens with 503 while the log is slow, which is the contract, not a failure.
   */
  retryUnavailable?: number;
}

export async function openSse(url: string, opts: OpenOptions = {}): Promise<SseResponse> {
  const ac = new AbortController();
  let res = await fetch(url, { headers: { Accept: 'text/event-stream', ...opts.headers }, signal: ac.signal });
  for (let retries = opts.retryUnavailable ?? 0; res.status === 503 && retries > 0; retries--) {
    await res.body?.cancel();
    const waitS = Number(res.headers.get('retry-after'));
    await new Promise((r) => setTimeout(r, Number.isFinite(waitS) && waitS > 0 ? waitS * 1000 : 1000));
    res = await fetch(url, { headers: { Accept: 'text/event-stream', ...opts.headers }, signal: ac.signal });
  }
  const items: SseItem[] = [];
  const waiters = new Set<() => void>();
  const notify = () => {
    for (const w of [...waiters]) w();
  };
  if (res.status !== 200 || !res.body) {
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    return {
      status: res.status,
      headers: res.headers,
      body,
      items,
      events: () => [],
      ended: Promise.resolve('ended'),
      until: async () => {
        throw new Error(`stream answered ${res.status}`);
      },
      close: () => ac.abort(),
    };
  }
  const parser = createParser({
    onEvent: (m: EventSourceMessage) => {
      items.push({ kind: 'event', id: m.id ?? '', type: m.event ?? 'message', event: JSON.parse(m.data) as JobEvent });
      notify();
    },
    onComment: (text: string) => {
      items.push({ kind: 'comment', text: text.trim() });
      notify();
    },
    onRetry: (ms: number) => {
      items.push({ kind: 'retry', ms });
      notify();
    },
  });
  let finished = false;
  const ended = (async (): Promise<'ended' | 'aborted'> => {
    const reader = res.body!.getReader();
    const dec = new TextDecoder();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return 'ended';
        parser.feed(dec.decode(value, { stream: true }));
      }
    } catch {
      return 'aborted';
    } finally {
      finished = true;
      notify();
    }
  })();
  return {
    status: res.status,
    headers: res.headers,
    items,
    events: () => items.flatMap((i) => (i.kind === 'event' ? [{ ...i.event, id: i.id }] : [])),
    ended,
    until: (pred, timeoutMs = 15_000) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (pred(items)) {
            cleanup();
            resolve();
          } else if (finished) {
            cleanup();
            reject(new Error(`stream ended before the condition held (${items.length} items)`));
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`condition not met within ${timeoutMs} ms (${items.length} items)`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      }),
    close: () => ac.abort(),
  };
}

/** Reads a whole stream to its end. */
export async function readAll(url: string, opts: OpenOptions = {}): Promise<SseResponse> {
  const s = await openSse(url, opts);
  await s.ended;
  return s;
}

export const tokenText = (events: JobEvent[]): string =>
  events.flatMap((e) => (e.type === 'token' ? [e.text] : [])).join('');
