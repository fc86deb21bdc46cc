/** The error shape of every non-2xx response: `{ "error": { "code", "message" } }`. */
export type ErrorCode =
  | 'invalid_request'
  | 'unknown_agent'
  | 'invalid_cursor'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'not_waiting'
  | 'already_answered'
  | 'idempotency_conflict'
  | 'thread_busy'
  | 'job_active'
  | 'cursor_expired'
  | 'lease_lost'
  | 'payload_too_large'
  | 'rate_limited'
  | 'quota_exceeded'
  | 'too_many_connections'
  | 'unsupported_media_type'
  | 'service_unavailable'
  | 'internal_error';

export interface ErrorBody {
  error: { code: ErrorCode | (string & {}); message: string };
}

/** The per-tenant quotas the platform enforces (each one a `kind` of {@link QuotaExceededError}). */
export type QuotaKind = 'active_jobs' | 'threads' | 'webhooks' | 'streams' | 'waits' | 'log_bytes' | (string & {});

/**
 * A tenant is at one of its quotas: answered `429` `quota_exceeded`, with `Retry-After` when waiting helps (a
 * running job ends, a stream closes). Thrown by the stores that count atomically and by the API's own checks.
 */
export class QuotaExceededError extends Error {
  override readonly name = 'QuotaExceededError';
  constructor(
    readonly kind: QuotaKind,
    readonly limit: number,
    /** Seconds after which a retry may succeed; undefined when only the tenant's own action frees room. */
    readonly retryAfterS?: number,
    message = `quota exceeded: at most ${limit} ${kind.replace(/_/g, ' ')} per tenant`,
  ) {
    super(message);
  }
}
