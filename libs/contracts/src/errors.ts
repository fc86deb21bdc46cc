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
