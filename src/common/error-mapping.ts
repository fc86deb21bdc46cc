/**
 * One mapping from any thrown error to the contract's `{ error: { code, message } }` and status. Bad input is a
 * 4xx with a clear message; a failing dependency is a 503; anything else is a 500 whose details stay in the log.
 */
import { HttpException } from '@nestjs/common';
import { ZodError } from 'zod';
import { InvalidCursorError, QuotaExceededError, type ErrorBody } from '@jobstream/contracts';
import { EventLogFullError, EventLogUnavailableError } from '@jobstream/event-log';
import { CatalogUnavailableError, QueueUnavailableError } from '@jobstream/job-queue';
import { isNatsError } from '@jobstream/nats';
import { isRedisOutage } from '@jobstream/redis';
import { IdempotencyConflictError, InvalidListCursorError, JobStoreUnavailableError } from '@jobstream/job-store';
import { ShareStoreUnavailableError } from '@jobstream/share-store';
import { InvalidThreadCursorError, ThreadStoreUnavailableError } from '@jobstream/thread-store';
import { WebhookStoreUnavailableError } from '@jobstream/webhooks';
import { ApiError } from './api-error.js';

export interface MappedError {
  status: number;
  body: ErrorBody;
  headers: Record<string, string>;
  /** Unexpected: log it with its stack. */
  unexpected: boolean;
}

/** The contract's error code of each HTTP status, when nothing more specific is known. */
export const STATUS_CODES: Readonly<Record<number, string>> = {
  400: 'invalid_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'invalid_request',
  409: 'conflict',
  410: 'cursor_expired',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
  503: 'service_unavailable',
};

export function zodMessage(err: ZodError, prefix = ''): string {
  return err.issues
    .slice(0, 10)
    .map((i) => {
      const path = [prefix, ...i.path.map(String)].filter(Boolean).join('.');
      return path ? `${path}: ${i.message}` : i.message;
    })
    .join('; ');
}

const mapped = (
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
  unexpected = false,
): MappedError => ({
  status,
  body: { error: { code, message } },
  headers,
  unexpected,
});

/** Socket-level failures of a dependency. */
const NET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENOTCONN',
  'ECONNABORTED',
]);

/**
 * True for any error that says a dependency (NATS / JetStream, Redis) cannot serve now, whichever layer let it
 * through: the ports' own `…UnavailableError`s, a raw nats.js error (no responders, timeout, a JetStream API error
 * during a leader election: its error classes), ioredis's connection errors and transient replies (its error
 * classes, see @jobstream/redis), socket errors (their `code`). Follows `cause`.
 */
export function isDependencyError(err: unknown, depth = 0): boolean {
  if (!(err instanceof Error) || depth > 5) return false;
  if (
    err instanceof EventLogUnavailableError ||
    err instanceof JobStoreUnavailableError ||
    err instanceof QueueUnavailableError ||
    err instanceof CatalogUnavailableError
  )
    return true;
  if (isNatsError(err) || isRedisOutage(err)) return true;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && NET_CODES.has(code)) return true;
  return isDependencyError((err as { cause?: unknown }).cause, depth + 1);
}

export function mapError(err: unknown): MappedError {
  if (err instanceof ApiError)
    return mapped(err.getStatus(), err.code, (err.getResponse() as ErrorBody).error.message, err.headers);
  if (err instanceof QuotaExceededError)
    return mapped(
      429,
      'quota_exceeded',
      err.message,
      err.retryAfterS !== undefined ? { 'Retry-After': String(err.retryAfterS) } : {},
    );
  if (err instanceof ZodError) return mapped(400, 'invalid_request', zodMessage(err));
  if (err instanceof InvalidCursorError) return mapped(400, 'invalid_cursor', err.message);
  if (err instanceof InvalidListCursorError) return mapped(400, 'invalid_cursor', 'malformed list cursor');
  if (err instanceof IdempotencyConflictError) return mapped(409, 'idempotency_conflict', err.message);
  // a non-terminal append (a new job's `status: queued`, an answer) into a log that is full: nothing was written
  if (err instanceof EventLogFullError)
    return mapped(503, 'service_unavailable', 'the event log is full; retry shortly', { 'Retry-After': '5' });
  if (err instanceof EventLogUnavailableError)
    return mapped(503, 'service_unavailable', 'the event log is unavailable; retry shortly', { 'Retry-After': '2' });
  if (err instanceof InvalidThreadCursorError) return mapped(400, 'invalid_cursor', 'malformed list cursor');
  if (err instanceof ThreadStoreUnavailableError || err instanceof ShareStoreUnavailableError) {
    return mapped(503, 'service_unavailable', 'the job store is unavailable; retry shortly', { 'Retry-After': '2' });
  }
  if (err instanceof JobStoreUnavailableError)
    return mapped(503, 'service_unavailable', 'the job store is unavailable; retry shortly', { 'Retry-After': '2' });
  if (err instanceof WebhookStoreUnavailableError)
    return mapped(503, 'service_unavailable', 'the webhook store is unavailable; retry shortly', {
      'Retry-After': '2',
    });
  if (isDependencyError(err))
    return mapped(503, 'service_unavailable', 'a backing service is unavailable; retry shortly', {
      'Retry-After': '2',
    });
  if (err instanceof HttpException) {
    const status = err.getStatus();
    const res = err.getResponse();
    const message =
      typeof res === 'string'
        ? res
        : typeof (res as { message?: unknown }).message === 'string'
          ? (res as { message: string }).message
          : err.message;
    return mapped(
      status,
      STATUS_CODES[status] ?? (status >= 500 ? 'internal_error' : 'invalid_request'),
      message,
      {},
      status >= 500,
    );
  }
  // body-parser and other http-errors style errors
  const e = err as { status?: unknown; statusCode?: unknown; type?: unknown; expose?: unknown } | null;
  const status = typeof e?.status === 'number' ? e.status : typeof e?.statusCode === 'number' ? e.statusCode : 0;
  if (status >= 400 && status < 500) {
    if (e?.type === 'entity.too.large') return mapped(413, 'payload_too_large', 'request body is too large');
    if (e?.type === 'entity.parse.failed') return mapped(400, 'invalid_request', 'malformed JSON body');
    if (e?.type === 'encoding.unsupported' || e?.type === 'charset.unsupported')
      return mapped(415, 'unsupported_media_type', 'unsupported body encoding');
    return mapped(
      status,
      STATUS_CODES[status] ?? 'invalid_request',
      e?.expose && err instanceof Error ? err.message : 'bad request',
    );
  }
  return mapped(500, 'internal_error', 'internal error', {}, true);
}
