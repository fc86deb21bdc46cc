/**
 * A raw-ish HTTP client for the fuzz suites: the path, query and headers go out exactly as generated (node:http,
 * no URL normalization), the body as given bytes. An SSE answer is read up to its headers and then dropped.
 */
import http from 'node:http';

export interface RawRequest {
  method: string;
  /** Path with query, already percent-encoded as it must go on the wire. */
  path: string;
  headers: Record<string, string | string[]>;
  body?: string | Buffer;
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The body text (empty for an SSE answer, which is dropped after its headers). */
  text: string;
}

/** One connection per request: a server that answers before reading a body may close the socket, which a pooled
 * connection would misreport as the next request's failure. */
export function closeClient(): void {}

export function send(base: string, r: RawRequest, timeoutMs = 10_000): Promise<RawResponse> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: u.hostname, port: u.port, method: r.method, path: r.path, headers: r.headers, agent: false },
      (res) => {
        const status = res.statusCode ?? 0;
        if (String(res.headers['content-type'] ?? '').startsWith('text/event-stream')) {
          res.destroy();
          req.destroy();
          clearTimeout(timer);
          resolve({ status, headers: res.headers, text: '' });
          return;
        }
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', (err) => {
          clearTimeout(timer);
          reject(err);
        });
      },
    );
    const timer = setTimeout(
      () => req.destroy(new Error(`no answer in ${timeoutMs} ms: ${r.method} ${r.path.slice(0, 200)}`)),
      timeoutMs,
    );
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    if (r.body !== undefined) req.end(r.body);
    else req.end();
  });
}

/** A response body that gives away internals: a stack frame, a source file, a path on the server's disk. */
export const LEAK_RE =
  /\bat [^\n]*\(?[^\s()]+:\d+:\d+\)?|node_modules|file:\/\/|\/work\/|\/src\/[\w/-]+\.[jt]s|\.(?:ts|js|mjs):\d+|\bTypeError\b|\bRangeError\b|\bReferenceError\b/;

/** Problems with one response against the contract (empty when it is fine). */
export function contractProblems(r: RawRequest, res: RawResponse): string[] {
  const problems: string[] = [];
  if (res.status >= 500) problems.push(`status ${res.status}`);
  if (LEAK_RE.test(res.text)) problems.push(`body leaks internals: ${res.text.slice(0, 300)}`);
  if (res.status >= 400 && r.method !== 'HEAD') {
    const ct = String(res.headers['content-type'] ?? '');
    if (!ct.startsWith('application/json')) problems.push(`error with content-type "${ct}"`);
    let body: unknown;
    try {
      body = JSON.parse(res.text);
    } catch {
      problems.push(`error body is not JSON: ${res.text.slice(0, 200)}`);
    }
    if (body !== undefined && !isErrorBody(body))
      problems.push(`error body is not { error: { code, message } }: ${res.text.slice(0, 300)}`);
  }
  return problems;
}

export function isErrorBody(v: unknown): boolean {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const keys = Object.keys(v);
  if (keys.length !== 1 || keys[0] !== 'error') return false;
  const e = (v as { error: unknown }).error;
  if (e === null || typeof e !== 'object') return false;
  const ek = Object.keys(e).sort();
  return (
    ek.length === 2 &&
    ek[0] === 'code' &&
    ek[1] === 'message' &&
    typeof (e as { code: unknown }).code === 'string' &&
    /^[a-z_]{3,40}$/.test((e as { code: string }).code) &&
    typeof (e as { message: unknown }).message === 'string'
  );
}
