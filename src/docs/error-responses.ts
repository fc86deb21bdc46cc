/**
 * Error responses of the OpenAPI document, each with an example per error code it can carry: the codes are the ones
 * the description names (`409 thread_busy / idempotency_conflict`), else the status's own code (401 unauthorized).
 */
import { STATUS_CODES } from '../common/error-mapping.js';
import { ApiResponse } from '@nestjs/swagger';

/** Every error code an endpoint answers, with its status and a typical message (src/common/error-mapping.ts). */
export const ERROR_CODES: Readonly<Record<string, { statuses: readonly number[]; message: string }>> = {
  invalid_request: { statuses: [400], message: 'input.repeat: must be >= 1' },
  unknown_agent: { statuses: [400], message: 'unknown agent "nope": no worker has announced it' },
  invalid_cursor: { statuses: [400], message: 'cursor does not belong to this job' },
  unauthorized: { statuses: [401], message: 'invalid API key' },
  forbidden: { statuses: [403], message: 'streams under jobs/ are the jobs themselves: read-only' },
  stale_producer_epoch: { statuses: [403], message: 'producer p1 is on epoch 3; this request is epoch 2' },
  not_found: { statuses: [404], message: 'job not found' },
  conflict: { statuses: [409], message: 'this tenant already has the maximum number of webhook endpoints' },
  idempotency_conflict: { statuses: [409], message: 'Idempotency-Key was used with a different request body' },
  job_active: { statuses: [409], message: 'the job has not ended; cancel it first' },
  thread_busy: { statuses: [409], message: 'the thread has an active turn' },
  already_answered: {
    statuses: [409],
    message: 'request req_01JD7Y3Z8W4X2V9Q5R6S7T8U9V was already answered with a different input',
  },
  not_waiting: {
    statuses: [409],
    message: 'job job_01JD7Y3Z8W4X2V9Q5R6S7T8U9V is not waiting for request req_01JD7Y3Z8W4X2V9Q5R6S7T8U9V',
  },
  stream_exists: { statuses: [409], message: 'stream orders exists with another content type' },
  stream_closed: { statuses: [409], message: 'stream orders is closed' },
  content_type_mismatch: { statuses: [409], message: 'stream orders holds application/json' },
  producer_seq_gap: { statuses: [409], message: 'producer p1 expected seq 4, got 6' },
  stream_seq_conflict: { statuses: [409], message: 'Stream-Seq 0007 is not after 0009' },
  stream_deleted: { statuses: [409, 410], message: 'stream orders was deleted; its forks still read its data' },
  cursor_expired: { statuses: [410], message: 'the events after this cursor are no longer retained' },
  lease_lost: { statuses: [410], message: 'the lease is no longer current: it lapsed' },
  payload_too_large: { statuses: [413], message: 'request body is too large' },
  unsupported_media_type: { statuses: [415], message: 'JSON bodies must be UTF-8' },
  rate_limited: { statuses: [429], message: 'too many jobs created; retry in 2 s' },
  quota_exceeded: { statuses: [429], message: 'the tenant has reached its quota of active jobs (100); retry later' },
  too_many_connections: { statuses: [429, 503], message: 'too many open streams; retry after the Retry-After delay' },
  service_unavailable: { statuses: [503], message: 'the job store is unavailable; retry shortly' },
};

/** The code a status carries when the description names none (405 is never documented). */
const DEFAULT_CODE = STATUS_CODES;

/** The codes of `status` that `description` names, in order; the status's own code when it names none. */
export function errorCodesOf(status: number, description: string): string[] {
  const named = (description.match(/[a-z]+(?:_[a-z]+)+|\b[a-z]+\b/g) ?? []).filter(
    (w, i, all) => ERROR_CODES[w]?.statuses.includes(status) && all.indexOf(w) === i,
  );
  if (named.length > 0) return named;
  const code = DEFAULT_CODE[status];
  if (!code) throw new Error(`no error code known for status ${status}`);
  return [code];
}

/** `ApiResponse` of an error: the Error schema, and one example per code. */
export function errorResponse(status: number, description: string): MethodDecorator & ClassDecorator {
  const examples = Object.fromEntries(
    errorCodesOf(status, description).map((code) => [
      code,
      { value: { error: { code, message: ERROR_CODES[code]!.message } } },
    ]),
  );
  return ApiResponse({
    status,
    description,
    content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' }, examples } },
  });
}
