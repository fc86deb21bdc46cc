/** OpenAPI decorators of the conversations (threads), job management and share endpoints. */
import { applyDecorators } from '@nestjs/common';
import { ApiBearerAuth, ApiParam, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import { THREADS_LIST_LIMIT_MAX } from '../threads/threads.constants.js';
import { body, idempotencyKey, operation, returns } from './doc-helpers.js';
import { errorResponse } from './error-responses.js';

const err = errorResponse;
const threadId = ApiParam({ name: 'id', description: 'thread id', example: 'thr_01JD7Y3Z8W4X2V9Q5R6S7T8U9V' });
const jobId = ApiParam({ name: 'id', description: 'job id', example: 'job_01JD7Y3Z8W4X2V9Q5R6S7T8U9V' });
const auth = [ApiBearerAuth(), err(401, 'no or bad API key')];
const threads = [ApiTags('Threads'), ...auth];
const jobs = [ApiTags('Jobs'), ...auth];
const shares = [ApiTags('Shares'), ...auth];
const page = [
  ApiQuery({
    name: 'limit',
    required: false,
    schema: { type: 'integer', minimum: 1, maximum: THREADS_LIST_LIMIT_MAX, default: 20 },
  }),
  ApiQuery({ name: 'cursor', required: false, type: String, description: 'next_cursor of the previous page' }),
];

export const ApiThreadsDocs = {
  create: () =>
    applyDecorators(
      ...threads,
      operation('Create a thread (a conversation with one agent)'),
      body('CreateThreadRequest'),
      returns(201, 'Thread', 'created'),
      err(400, 'unknown_agent: an agent no worker has announced; invalid_request: bad metadata'),
      err(
        429,
        'rate_limited (RATE_LIMIT_CREATE_PER_MIN, with Retry-After); quota_exceeded: the tenant has TENANT_MAX_THREADS threads',
      ),
    ),
  list: () =>
    applyDecorators(
      ...threads,
      operation("The tenant's threads, newest first"),
      ...page,
      returns(200, 'ThreadList'),
      err(400, 'invalid_request / invalid_cursor'),
    ),
  get: () =>
    applyDecorators(
      ...threads,
      operation('A thread'),
      threadId,
      returns(200, 'Thread'),
      err(404, 'unknown thread, or a thread of another tenant'),
    ),
  createTurn: () =>
    applyDecorators(
      ...threads,
      operation(
        'Add a turn (a job) to a thread',
        "The agent of the turn receives the conversation so far: every earlier turn's input and the final text of the turns that completed. `if_busy` says what happens while a turn is still active: `reject` (default) ⇒ 409 `thread_busy`; `interrupt` ⇒ the active turn ends `cancelled` with reason `interrupted` (and turns waiting behind it are cancelled too), and this turn starts after that terminal event; `enqueue` ⇒ this turn waits and starts when the ones before it end. Same Idempotency-Key + same body ⇒ the same job again (200).",
      ),
      threadId,
      idempotencyKey('retry-safe creation, per thread (1–255 visible ASCII chars)'),
      body('CreateTurnRequest'),
      returns(201, 'Job', "the turn's job (`thread_id`, `turn`)"),
      returns(200, 'Job', 'the job created earlier with this Idempotency-Key'),
      err(400, "invalid_request: input does not fit the thread's agent"),
      err(404, 'unknown thread'),
      err(409, 'thread_busy (if_busy: reject) / idempotency_conflict'),
      err(
        429,
        "rate_limited (a turn is a create) / quota_exceeded (TENANT_MAX_ACTIVE_JOBS active jobs, or the tenant's events in the log have reached its log-bytes quota); with Retry-After",
      ),
      err(
        503,
        'service_unavailable: a dependency is down, or the event log is full with running jobs; with Retry-After',
      ),
    ),
  turns: () =>
    applyDecorators(
      ...threads,
      operation("A thread's turns (jobs), in order"),
      threadId,
      ...page,
      returns(200, 'JobList'),
      err(404, 'unknown thread'),
    ),
  delete: () =>
    applyDecorators(
      ...threads,
      operation('Delete a thread with its jobs and their events'),
      threadId,
      ApiResponse({ status: 204, description: 'deleted' }),
      err(404, 'unknown thread'),
      err(409, 'thread_busy: a turn is active or waiting; cancel it first'),
    ),
};

export const ApiJobManagementDocs = {
  rerun: () =>
    applyDecorators(
      ...jobs,
      operation(
        'Run a job again',
        'A new job with the same agent, input and metadata, and `rerun_of`. A job of a thread reruns as a new turn of that thread (body `if_busy` as for turns).',
      ),
      jobId,
      body('RerunJobRequest', false),
      returns(201, 'Job'),
      err(404, 'unknown job'),
      err(409, 'thread_busy'),
      err(429, 'rate_limited / quota_exceeded (active jobs); with Retry-After'),
    ),
  batch: () =>
    applyDecorators(
      ...jobs,
      operation(
        'Create up to 100 jobs',
        'Each item is validated and created on its own (with its own `idempotency_key`); the answer has one item per request item, in order: `{ job }` or `{ error }`. Each item is one create of the rate limit: items past it get `{ error: { code: "rate_limited" } }`, items past the active-jobs quota `{ error: { code: "quota_exceeded" } }`.',
      ),
      body('BatchJobsRequest'),
      returns(200, 'BatchJobsResponse'),
      err(400, 'invalid_request: not 1 to 100 items'),
    ),
  delete: () =>
    applyDecorators(
      ...jobs,
      operation('Delete a finished job and its events'),
      jobId,
      ApiResponse({ status: 204, description: 'deleted; later requests for it ⇒ 404' }),
      err(404, 'unknown job'),
      err(409, 'job_active: cancel it first'),
    ),
  createShare: () =>
    applyDecorators(
      ...shares,
      operation(
        'Create a share link',
        'A read-only token for people outside the tenant, accepted as `?share_token=` by `GET /v1/jobs/{id}`, `/events` and `/stream` of this job only. Expires after `expires_in_s` (default 7 days, max 30 days); revocable. The token is shown once (only its digest is stored).',
      ),
      jobId,
      body('CreateShareRequest', false),
      returns(201, 'IssuedShare'),
      err(404, 'unknown job'),
    ),
  listShares: () =>
    applyDecorators(
      ...shares,
      operation("A job's live share links (without tokens)"),
      jobId,
      returns(200, 'ShareList'),
      err(404, 'unknown job'),
    ),
  deleteShare: () =>
    applyDecorators(
      ...shares,
      operation('Revoke a share link', 'Its token is refused (401) from then on, on every API process.'),
      jobId,
      ApiParam({ name: 'share_id', example: 'shr_01JD7Y3Z8W4X2V9Q5R6S7T8U9V' }),
      ApiResponse({ status: 204, description: 'revoked' }),
      err(404, 'unknown job or share'),
    ),
};
