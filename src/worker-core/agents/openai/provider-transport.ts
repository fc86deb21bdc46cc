/**
 * The `fetch` the AI SDK's provider calls, for one run of the `openai` agent: it adds what the SDK leaves to its
 * caller — an inactivity timeout (headers, then between two reads of the body; a long stream never times out),
 * capped error bodies, a 200 that is JSON instead of a stream, an SSE event size cap, and whether `data: [DONE]`
 * arrived (a proper end without a `finish_reason`, which the SDK cannot tell from a cut stream).
 */
import {
  badResponseFailure,
  nonStreamFailure,
  timeoutFailure,
  truncatedFailure,
  type ProviderFailure,
} from './provider-errors.js';

/** Caps on what is buffered from the provider: an error body, and one SSE event. */
const MAX_ERROR_BODY = 64 * 1024;
const MAX_SSE_EVENT = 8 * 1024 * 1024;
const LF = 10;
const CR = 13;
/** `data: [DONE]` or `data:[DONE]` at the start of a line. */
const DONE_LINE = /(?:^|\n)data: ?\[DONE\][\r\n]/;

/** A failure the transport classified itself; the agent reports it as it is. */
export class ProviderFailureError extends Error {
  constructor(readonly failure: ProviderFailure) {
    super(failure.message);
  }
}

export class ProviderTransport {
  /** The inactivity timer fired (the request was aborted for it). */
  timedOut = false;
  /** The stream carried `data: [DONE]`. */
  sawDone = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly fetchFn: typeof fetch,
    private readonly timeoutMs: number,
    /** Aborted by the timer; its signal is the one the SDK passes to every request. */
    private readonly http: AbortController,
  ) {}

  readonly fetch = async (url: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const res = await this.timed(() => this.fetchFn(url, init));
    const json = /application\/json/i.test(res.headers.get('content-type') ?? '');
    if (!res.ok) {
      const text = await this.timed(() => readCapped(res, MAX_ERROR_BODY)).catch(() => '');
      return new Response(text, { status: res.status, statusText: res.statusText, headers: res.headers });
    }
    if (!res.body || json) {
      let text: string;
      try {
        text = await this.timed(() => readCapped(res, MAX_ERROR_BODY));
      } catch (err) {
        if (this.http.signal.aborted && !this.timedOut) throw err;
        throw new ProviderFailureError(
          this.timedOut ? timeoutFailure(this.timeoutMs, 'stream') : truncatedFailure(String((err as Error).message)),
        );
      }
      throw new ProviderFailureError(nonStreamFailure(text));
    }
    return new Response(this.watch(res.body), { status: res.status, headers: res.headers });
  };

  dispose(): void {
    clearTimeout(this.timer);
  }

  /** Runs one wait of the request (headers, or one read) under the inactivity timer. */
  private async timed<T>(wait: () => Promise<T>): Promise<T> {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timedOut = true;
      this.http.abort(new Error('provider inactivity timeout'));
    }, this.timeoutMs);
    try {
      return await wait();
    } finally {
      clearTimeout(this.timer);
    }
  }

  /** The body, read under the timer, watched for `[DONE]` and for an SSE event over {@link MAX_SSE_EVENT}. */
  private watch(body: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let tail = '\n'; // the end of what came before: `[DONE]` may be split between two reads
    let eventBytes = 0; // bytes since the last blank line
    let lineBytes = 0; // bytes of the current line, not counting CR
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        const r = await this.timed(() => reader.read());
        if (r.done) return controller.close();
        for (const byte of r.value) {
          if (byte === LF) {
            eventBytes = lineBytes === 0 ? 0 : eventBytes + 1;
            lineBytes = 0;
          } else if (byte !== CR) {
            lineBytes++;
            eventBytes++;
          }
        }
        if (eventBytes > MAX_SSE_EVENT) {
          throw new ProviderFailureError(badResponseFailure(`an SSE event over ${MAX_SSE_EVENT} bytes`));
        }
        if (!this.sawDone) {
          const text = tail + decoder.decode(r.value, { stream: true });
          this.sawDone = DONE_LINE.test(text);
          tail = text.slice(-16);
        }
        controller.enqueue(r.value);
      },
      cancel: (reason) => reader.cancel(reason),
    });
  }
}

/** Reads at most `max` bytes of the body as text, then lets the rest go. */
async function readCapped(res: Response, max: number): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < max) {
      const r = await reader.read();
      if (r.done) break;
      parts.push(r.value);
      size += r.value.byteLength;
    }
  } finally {
    reader.cancel().catch(() => undefined);
  }
  return new TextDecoder().decode(Buffer.concat(parts).subarray(0, max));
}
