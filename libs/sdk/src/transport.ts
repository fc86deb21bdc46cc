/**
 * The resolved connection settings every SDK call shares: base URL, credentials, fetch and extra headers.
 * Kept separate from `client.ts` so the streaming modules can depend on it without a cycle.
 */
import { JobstreamConnectionError, abortReason, errorFromResponse } from './errors.js';

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

/** Where and how to reach the API. */
export interface ConnectionOptions {
  /** e.g. `https://jobs.example.com` (a path prefix is kept: `https://x/api` ⇒ `https://x/api/v1/...`). */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <apiKey>`. Never logged by the SDK. */
  apiKey?: string;
  /** A fetch implementation; defaults to the global `fetch` (Node ≥ 18, browsers). */
  fetch?: FetchLike;
  /** Extra headers on every request (tracing ids, …). */
  headers?: Record<string, string>;
}

export class Transport {
  readonly baseUrl: string;
  private readonly fetchImpl: FetchLike;

  constructor(private readonly opts: ConnectionOptions) {
    if (!opts.baseUrl) throw new TypeError('jobstream: baseUrl is required');
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    const f = opts.fetch ?? (globalThis.fetch as FetchLike | undefined);
    if (!f) throw new TypeError('jobstream: no global fetch; pass options.fetch');
    // Call the global fetch unbound-safe (browsers throw "Illegal invocation" for a detached fetch).
    this.fetchImpl = opts.fetch ? opts.fetch : (input, init) => f.call(globalThis, input, init);
  }

  /** `path` starts with `/v1/…`; `query` entries that are undefined are left out. */
  url(path: string, query?: Record<string, string | number | undefined>): string {
    let u = this.baseUrl + path;
    if (query) {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(query)) if (v !== undefined) q.set(k, String(v));
      const s = q.toString();
      if (s) u += `?${s}`;
    }
    return u;
  }

  headers(extra?: Record<string, string>): Record<string, string> {
    const h: Record<string, string> = { ...this.opts.headers, ...extra };
    if (this.opts.apiKey) h['Authorization'] = `Bearer ${this.opts.apiKey}`;
    return h;
  }

  /** fetch, with network failures turned into {@link JobstreamConnectionError} and aborts passed through. */
  async fetch(url: string, init: RequestInit): Promise<Response> {
    try {
      return await this.fetchImpl(url, init);
    } catch (err) {
      if (init.signal?.aborted) throw abortReason(init.signal);
      throw new JobstreamConnectionError('network', `request to ${redactUrl(url)} failed: ${describe(err)}`, {
        cause: err,
      });
    }
  }

  /** A JSON request: returns the parsed body of a 2xx, throws {@link JobstreamError} otherwise. */
  async json<T>(
    method: string,
    path: string,
    opts: {
      query?: Record<string, string | number | undefined>;
      body?: unknown;
      headers?: Record<string, string>;
      signal?: AbortSignal;
    } = {},
  ): Promise<{ status: number; body: T }> {
    const headers = this.headers({ Accept: 'application/json', ...opts.headers });
    const init: RequestInit = { method, headers };
    if (opts.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(opts.body);
    }
    if (opts.signal) init.signal = opts.signal;
    const url = this.url(path, opts.query);
    const res = await this.fetch(url, init);
    if (!res.ok) throw await errorFromResponse(res);
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      if (opts.signal?.aborted) throw abortReason(opts.signal);
      throw new JobstreamConnectionError(
        'network',
        `reading the response of ${method} ${path} failed: ${describe(err)}`,
        { cause: err },
      );
    }
    // 204 No Content (deletes)
    if (res.status === 204 || text === '') return { status: res.status, body: undefined as T };
    try {
      return { status: res.status, body: JSON.parse(text) as T };
    } catch (err) {
      throw new JobstreamConnectionError(
        'protocol',
        `${method} ${path} answered ${res.status} with a body that is not JSON`,
        { cause: err },
      );
    }
  }
}

export function describe(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    return cause instanceof Error ? `${err.message} (${cause.message})` : err.message;
  }
  return String(err);
}

/** Drops any userinfo from a URL before it goes into an error message. */
function redactUrl(url: string): string {
  return url.replace(/\/\/[^/@]*@/, '//');
}

/** Anything that carries a transport: a client from `createClient`. */
export interface HasTransport {
  readonly transport: Transport;
}

/** Standalone functions take either the connection settings themselves or a `client`. */
export type ClientSource = ConnectionOptions | { client: HasTransport };

export function resolveTransport(o: ClientSource): Transport {
  if ('client' in o && o.client) return o.client.transport;
  return new Transport(o as ConnectionOptions);
}
