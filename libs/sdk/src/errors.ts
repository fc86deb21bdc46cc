/**
 * Errors the SDK throws. Three kinds, so callers can branch without string matching:
 *
 * - {@link JobstreamError}: the API answered with a non-2xx status and (normally) the contract's error body
 *   `{ error: { code, message } }`.
 * - {@link JobstreamConnectionError}: no usable answer — the network failed, the stream dropped before a terminal
 *   event, the connection went idle, or the bytes did not follow the SSE contract. Always worth a retry.
 * - {@link JobstreamTimeoutError}: a client-side deadline (`waitFor`'s `timeoutMs`) passed.
 *
 * A job that *fails* is not an error of the SDK: it arrives as a normal `error` JobEvent on the stream.
 */
import type { ErrorBody } from '@jobstream/contracts/errors';
import type { Job } from '@jobstream/contracts/job';

/** The API answered with an error status. */
export class JobstreamError extends Error {
  override readonly name = 'JobstreamError';
  /** HTTP status (400, 401, 404, 409, 410, 413, 429, 503, …). */
  readonly status: number;
  /** The contract's machine-readable code (`invalid_request`, `cursor_expired`, …), or `http_<status>` when the body had none. */
  readonly code: string;
  /** From a `Retry-After` header (429/503), in milliseconds. */
  readonly retryAfterMs?: number;
  /** The job as a final `GET /v1/jobs/:id` saw it, when a stream gave up and the SDK checked (see `subscribeJobStream`). */
  job?: Job;

  constructor(init: { status: number; code: string; message: string; retryAfterMs?: number }) {
    super(init.message);
    this.status = init.status;
    this.code = init.code;
    if (init.retryAfterMs !== undefined) this.retryAfterMs = init.retryAfterMs;
  }
}

/** Why a connection-level failure happened. */
export type ConnectionFailureReason =
  /** fetch itself failed (DNS, refused, reset) or the body stream errored. */
  | 'network'
  /** The response ended cleanly but before a terminal event. */
  | 'dropped'
  /** No byte (not even a keepalive comment) within `idleTimeoutMs`. */
  | 'idle_timeout'
  /** The server's bytes broke the contract (wrong content type, unparsable event JSON, oversized line). */
  | 'protocol'
  /** An event's `seq` skipped ahead of the last one seen + 1. */
  | 'gap';

/** A connection-level failure: retryable by nature. */
export class JobstreamConnectionError extends Error {
  override readonly name = 'JobstreamConnectionError';
  /** The job as a final `GET /v1/jobs/:id` saw it, when a stream gave up and the SDK checked. */
  job?: Job;

  constructor(
    readonly reason: ConnectionFailureReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A client-side deadline passed. */
export class JobstreamTimeoutError extends Error {
  override readonly name = 'JobstreamTimeoutError';
}

/** `waitFor` saw the job's terminal event without any event matching the predicate. */
export class JobstreamUnmatchedError extends Error {
  override readonly name = 'JobstreamUnmatchedError';
}

/** A {@link JobstreamError} for a tenant at one of its quotas (429 `quota_exceeded`). */
export type QuotaExceededError = JobstreamError & { status: 429; code: 'quota_exceeded' };

/**
 * True when the tenant is at one of its quotas (active jobs, threads, webhooks, open streams, waits): 429
 * `quota_exceeded`. With `retryAfterMs` waiting may help (a job or stream of the tenant ends); without it only the
 * tenant's own action frees room (delete a thread or an endpoint).
 */
export function isQuotaExceeded(err: unknown): err is QuotaExceededError {
  return err instanceof JobstreamError && err.status === 429 && err.code === 'quota_exceeded';
}

/**
 * Whether a failure is worth another try: connection failures, 408, 429 and 5xx are — except a 429
 * `quota_exceeded` without `Retry-After` (waiting does not free that quota); every other 4xx (400 bad request or
 * cursor, 401/403 auth, 404 unknown job, 409, 410 `cursor_expired`, 413) is final.
 */
export function isRetryable(err: unknown): boolean {
  if (err instanceof JobstreamConnectionError) return true;
  if (isQuotaExceeded(err)) return err.retryAfterMs !== undefined;
  if (err instanceof JobstreamError) return err.status === 408 || err.status === 429 || err.status >= 500;
  return false;
}

/** Parses `Retry-After` (delta seconds or an HTTP date) into milliseconds from `now`. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null) return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Builds a {@link JobstreamError} from a non-2xx response, reading (and consuming) its body. */
export async function errorFromResponse(res: Response): Promise<JobstreamError> {
  let code = `http_${res.status}`;
  let message = res.statusText || `HTTP ${res.status}`;
  try {
    const text = await res.text();
    if (text) {
      const body = JSON.parse(text) as Partial<ErrorBody>;
      if (body && typeof body === 'object' && body.error && typeof body.error === 'object') {
        if (typeof body.error.code === 'string') code = body.error.code;
        if (typeof body.error.message === 'string') message = body.error.message;
      }
    }
  } catch {
    // not JSON (a proxy's HTML page, an empty body): keep the status-derived code and message
  }
  const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'));
  return new JobstreamError({
    status: res.status,
    code,
    message,
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
  });
}

/** The reason of an aborted signal, as fetch would throw it. */
export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}
