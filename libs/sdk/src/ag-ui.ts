/**
 * AG-UI helpers: jobstream serves AG-UI (`POST /v1/ag-ui/:agent` for `@ag-ui/client`'s `HttpAgent`, and
 * `GET /v1/jobs/:id/stream?format=ag-ui`), and a run lives on in its job when the connection drops.
 *
 * - {@link agUiFetch}: a `fetch` for `HttpAgent` (`new HttpAgent({ url, fetch: agUiFetch() })`) that, when the
 *   response of a run breaks off before the run ended, reads the rest of the run from the job's stream with the last
 *   cursor it saw (`Last-Event-ID`), so `runAgent` completes as if nothing happened.
 * - {@link readAgUiEvents}: the AG-UI events of a job's stream (for a viewer that did not start the run), resuming
 *   after drops the same way.
 * No dependency on `@ag-ui/*`: events are plain JSON objects with a `type`.
 */
import { createParser } from 'eventsource-parser';

/** An AG-UI event as it arrives (see `@ag-ui/core` for the types). */
export interface AgUiEvent {
  type: string;
  [field: string]: unknown;
}

/** The header of `POST /v1/ag-ui/:agent` naming the job's AG-UI stream (relative to the request URL). */
export const AG_UI_STREAM_HEADER = 'x-jobstream-stream-url';

type Fetch = (url: string, init?: RequestInit) => Promise<Response>;

export interface AgUiFetchOptions {
  /** The fetch used underneath. Default: `globalThis.fetch`. */
  fetch?: Fetch;
  /** How many times one run may be resumed after drops. Default 5. */
  maxResumes?: number;
  /** Wait before each resume, in ms. Default 250. */
  resumeDelayMs?: number;
}

const END_OF_RUN = new Set(['RUN_FINISHED', 'RUN_ERROR']);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** See the module comment. Responses without the stream header (errors, other servers) pass through unchanged. */
export function agUiFetch(opts: AgUiFetchOptions = {}): (url: string, init?: RequestInit) => Promise<Response> {
  const f: Fetch = opts.fetch ?? ((u, i) => globalThis.fetch(u, i));
  return async (url, init = {}) => {
    const first = await f(url, init);
    const streamPath = first.headers.get(AG_UI_STREAM_HEADER);
    if (!first.ok || !first.body || !streamPath) return first;
    const streamUrl = new URL(streamPath, url).toString();
    const headers = new Headers(init.headers);
    headers.delete('content-type');
    headers.set('accept', 'text/event-stream');
    const reopen = (lastId: string) => {
      headers.set('last-event-id', lastId);
      return f(streamUrl, { headers, signal: init.signal ?? null });
    };
    const body = resumingBody(first.body, reopen, opts.maxResumes ?? 5, opts.resumeDelayMs ?? 250, true);
    return new Response(body, { status: first.status, statusText: first.statusText, headers: first.headers });
  };
}

/**
 * An AG-UI SSE body, re-framed (`id:` + `data:` of every event; comments dropped): after a break — or an end before
 * the last event, as when a server shuts down — it goes on from a re-opened stream after the last id, until the
 * run's end (`oneRun`) or the job's.
 */
function resumingBody(
  first: ReadableStream<Uint8Array>,
  reopen: (lastId: string) => Promise<Response>,
  maxResumes: number,
  delayMs: number,
  oneRun: boolean,
): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  let lastId: string | null = null;
  let ended = false;
  let resumes = 0;
  let current: ReadableStreamDefaultReader<Uint8Array> | null = null;
  return new ReadableStream<Uint8Array>({
    async start(controller) {
      // `HttpAgent` rethrows a failed cancel of its body unless the error is an AbortError: fail as one, so the
      // app sees a RUN_ERROR (code `abort`) and no unhandled rejection
      const fail = (message: string) => {
        if (!ended) controller.error(Object.assign(new Error(message), { name: 'AbortError' }));
        ended = true;
      };
      let body: ReadableStream<Uint8Array> | null = first;
      while (body && !ended) {
        const reader = (current = body.getReader());
        const dec = new TextDecoder();
        const parser = createParser({
          onEvent(m) {
            if (ended) return;
            if (m.id) lastId = m.id;
            controller.enqueue(enc.encode(`${m.id ? `id: ${m.id}\n` : ''}data: ${m.data}\n\n`));
            if (oneRun ? END_OF_RUN.has(typeOf(m.data)) : isJobEnd(m.data)) {
              ended = true;
              controller.close();
            }
          },
        });
        try {
          for (;;) {
            const { done, value } = await reader.read();
            if (done || ended) break;
            parser.feed(dec.decode(value, { stream: true }));
          }
        } catch {
          /* the connection broke: resume below */
        }
        void reader.cancel().catch(() => {});
        if (ended) return;
        if (lastId === null || resumes >= maxResumes) return fail('the AG-UI stream broke off before the run ended');
        resumes++;
        await sleep(delayMs);
        if (ended) return;
        try {
          const res = await reopen(lastId);
          if (res.ok && res.body) body = res.body;
          else if (res.status >= 400 && res.status < 500) return fail(`resuming the AG-UI stream: HTTP ${res.status}`);
          else body = new ReadableStream({ start: (c) => c.error(new Error(`HTTP ${res.status}`)) });
        } catch {
          body = new ReadableStream({ start: (c) => c.error(new Error('unreachable')) });
        }
      }
    },
    cancel() {
      ended = true;
      void current?.cancel().catch(() => {});
    },
  });
}

/** The last event of a job's AG-UI stream: RUN_ERROR, or RUN_FINISHED of a job that waits for nothing. */
function isJobEnd(data: string): boolean {
  try {
    const e = JSON.parse(data) as { type?: unknown; outcome?: { type?: unknown; pendingToolCallIds?: unknown[] } };
    if (e.type === 'RUN_ERROR') return true;
    return (
      e.type === 'RUN_FINISHED' &&
      (e.outcome === undefined || e.outcome.type === 'success') &&
      (e.outcome?.pendingToolCallIds ?? []).length === 0
    );
  } catch {
    return false;
  }
}

function typeOf(data: string): string {
  try {
    const t = (JSON.parse(data) as { type?: unknown }).type;
    return typeof t === 'string' ? t : '';
  } catch {
    return '';
  }
}

export interface ReadAgUiOptions {
  fetch?: Fetch;
  headers?: Record<string, string>;
  /** Resume after this cursor (an `id` an earlier read returned). */
  after?: string;
  signal?: AbortSignal;
  maxResumes?: number;
  resumeDelayMs?: number;
}

/**
 * The AG-UI events of a job (`GET <base>/v1/jobs/<id>/stream?format=ag-ui`), each with its cursor `id`, until the
 * job ends; resumes after drops. A job that waits for input yields `RUN_FINISHED` (interrupt outcome) and, once
 * answered, a new run on the same iteration.
 */
export async function* readAgUiEvents(
  baseUrl: string,
  jobId: string,
  opts: ReadAgUiOptions = {},
): AsyncGenerator<AgUiEvent & { id: string }> {
  const f: Fetch = opts.fetch ?? ((u, i) => globalThis.fetch(u, i));
  const url = new URL(`/v1/jobs/${encodeURIComponent(jobId)}/stream?format=ag-ui`, baseUrl).toString();
  const headers = new Headers(opts.headers);
  headers.set('accept', 'text/event-stream');
  if (opts.after) headers.set('last-event-id', opts.after);
  const res = await f(url, { headers, signal: opts.signal ?? null });
  if (!res.ok || !res.body) throw new Error(`the AG-UI stream answered HTTP ${res.status}: ${await res.text()}`);
  const reopen = (lastId: string) => {
    headers.set('last-event-id', lastId);
    return f(url, { headers, signal: opts.signal ?? null });
  };
  const body = resumingBody(res.body, reopen, opts.maxResumes ?? 5, opts.resumeDelayMs ?? 250, false);
  const reader = body.getReader();
  const dec = new TextDecoder();
  const queue: (AgUiEvent & { id: string })[] = [];
  const parser = createParser({
    onEvent: (m) => queue.push({ ...(JSON.parse(m.data) as AgUiEvent), id: m.id ?? '' }),
  });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parser.feed(dec.decode(value, { stream: true }));
      while (queue.length > 0) yield queue.shift()!;
    }
  } finally {
    void reader.cancel().catch(() => {});
  }
}
