/** OpenAPI decorators of the conversations (threads), job management and share endpoints. */
import { applyDecorators } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBody,
  ApiHeader,
  ApiOperation,
  ApiParam,
  ApiQuery,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import { THREADS_LIST_LIMIT_MAX } from '../threads/threads.constants.js';
import { errorResponse } from './error-responses.js';

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
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
      ApiOperation({ summary: 'Create a thread (a conversation with one agent)' }),
      ApiBody({ schema: ref('CreateThreadRequest') }),
      ApiResponse({ status: 201, description: 'created', schema: ref('Thread') }),
      err(400, 'unknown_agent: an agent no worker has announced; invalid_request: bad metadata'),
      err(
        429,
        'rate_limited (RATE_LIMIT_CREATE_PER_MIN, with Retry-After); quota_exceeded: the tenant has TENANT_MAX_THREADS threads',
      ),
    ),
  list: () =>
    applyDecorators(
      ...threads,
      ApiOperation({ summary: "The tenant's threads, newest first" }),
      ...page,
      ApiResponse({ status: 200, schema: ref('ThreadList') }),
      err(400, 'invalid_request / invalid_cursor'),
    ),
  get: () =>
    applyDecorators(
      ...threads,
      ApiOperation({ summary: 'A thread' }),
      threadId,
      ApiResponse({ status: 200, schema: ref('Thread') }),
      err(404, 'unknown thread, or a thread of another tenant'),
    ),
  createTurn: () =>
    applyDecorators(
      ...threads,
      ApiOperation({
        summary: 'Add a turn (a job) to a thread',
        description:
          "The agent of the turn receives the conversation so far: every earlier turn's input and the final text of the turns that completed. `if_busy` says what happens while a turn is still active: `reject` (default) ⇒ 409 `thread_busy`; `interrupt` ⇒ the active turn ends `cancelled` with reason `interrupted` (and turns waiting behind it are cancelled too), and this turn starts after that terminal event; `enqueue` ⇒ this turn waits and starts when the ones before it end. Same Idempotency-Key + same body ⇒ the same job again (200).",
      }),
      threadId,
      ApiHeader({
        name: 'Idempotency-Key',
        required: false,
        description: 'retry-safe creation, per thread (1–255 visible ASCII chars)',
      }),
      ApiBody({ schema: ref('CreateTurnRequest') }),
      ApiResponse({ status: 201, description: "the turn's job (`thread_id`, `turn`)", schema: ref('Job') }),
      ApiResponse({
        status: 200,
        description: 'the job created earlier with this Idempotency-Key',
        schema: ref('Job'),
      }),
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
      ApiOperation({ summary: "A thread's turns (jobs), in order" }),
      threadId,
      ...page,
      ApiResponse({ status: 200, schema: ref('JobList') }),
      err(404, 'unknown thread'),
    ),
  delete: () =>
    applyDecorators(
      ...threads,
      ApiOperation({ summary: 'Delete a thread with its jobs and their events' }),
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
      ApiOperation({
        summary: 'Run a job again',
        description:
          'A new job with the same agent, input and metadata, and `rerun_of`. A job of a thread reruns as a new turn of that thread (body `if_busy` as for turns).',
      }),
      jobId,
      ApiBody({ schema: ref('RerunJobRequest'), required: false }),
      ApiResponse({ status: 201, schema: ref('Job') }),
      err(404, 'unknown job'),
      err(409, 'thread_busy'),
      err(429, 'rate_limited / quota_exceeded (active jobs); with Retry-After'),
    ),
  batch: () =>
    applyDecorators(
      ...jobs,
      ApiOperation({
        summary: 'Create up to 100 jobs',
        description:
          'Each item is validated and created on its own (with its own `idempotency_key`); the answer has one item per request item, in order: `{ job }` or `{ error }`. Each item is one create of the rate limit: items past it get `{ error: { code: "rate_limited" } }`, items past the active-jobs quota `{ error: { code: "quota_exceeded" } }`.',
      }),
      ApiBody({ schema: ref('BatchJobsRequest') }),
      ApiResponse({ status: 200, schema: ref('BatchJobsResponse') }),
      err(400, 'invalid_request: not 1 to 100 items'),
    ),
  delete: () =>
    applyDecorators(
      ...jobs,
      ApiOperation({ summary: 'Delete a finished job and its events' }),
      jobId,
      ApiResponse({ status: 204, description: 'deleted; later requests for it ⇒ 404' }),
      err(404, 'unknown job'),
      err(409, 'job_active: cancel it first'),
    ),
  createShare: () =>
    applyDecorators(
      ...shares,
      ApiOperation({
        summary: 'Create a share link',
        description:
          'A read-only token for people outside the tenant, accepted as `?share_token=` by `GET /v1/jobs/{id}`, `/events` and `/stream` of this job only. Expires after `expires_in_s` (default 7 days, max 30 days); revocable. The token is shown once (only its digest is stored).',
      }),
      jobId,
      ApiBody({ schema: ref('CreateShareRequest'), required: false }),
      ApiResponse({ status: 201, schema: ref('IssuedShare') }),
      err(404, 'unknown job'),
    ),
  listShares: () =>
    applyDecorators(
      ...shares,
      ApiOperation({ summary: "A job's live share links (without tokens)" }),
      jobId,
      ApiResponse({ status: 200, schema: ref('ShareList') }),
      err(404, 'unknown job'),
    ),
  deleteShare: () =>
    applyDecorators(
      ...shares,
      ApiOperation({
        summary: 'Revoke a share link',
        description: 'Its token is refused (401) from then on, on every API process.',
      }),
      jobId,
      ApiParam({ name: 'share_id', example: 'shr_01JD7Y3Z8W4X2V9Q5R6S7T8U9V' }),
      ApiResponse({ status: 204, description: 'revoked' }),
      err(404, 'unknown job or share'),
    ),
};
