/** OpenAPI decorators of the jobs endpoints, kept out of the controllers. */
import { applyDecorators } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiHeader, ApiOperation, ApiParam, ApiProduces, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import { EVENTS_LIMIT_MAX, LIST_LIMIT_MAX, WAIT_TIMEOUT_MAX_S } from '../jobs/jobs.constants.js';

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const err = (status: number, description: string) => ApiResponse({ status, description, schema: ref('Error') });
const idParam = ApiParam({ name: 'id', description: 'job id', example: 'job_01JD7Y3Z8W4X2V9Q5R6S7T8U9V' });
const common = [ApiTags('jobs'), ApiBearerAuth(), err(401, 'no or bad API key')];

const SSE_EXAMPLE = `retry: 2000
: keepalive

id: 1-1-k3x9a1
event: status
data: {"job_id":"job_…","seq":1,"ts":"…","attempt":1,"type":"status","status":"queued"}

id: 3-7-k3x9a1
event: token
data: {"job_id":"job_…","seq":3,"ts":"…","attempt":1,"type":"token","text":"Hello "}
`;

export const ApiJobsDocs = {
  create: () =>
    applyDecorators(
      ...common,
      ApiOperation({ summary: 'Create a job', description: 'Same Idempotency-Key + same body ⇒ the same job again (200); same key + another body ⇒ 409.' }),
      ApiHeader({ name: 'Idempotency-Key', required: false, description: 'retry-safe creation (1–255 visible ASCII chars)' }),
      ApiBody({ schema: ref('CreateJobRequest') }),
      ApiResponse({ status: 201, description: 'created', schema: ref('Job') }),
      ApiResponse({ status: 200, description: 'the job created earlier with this Idempotency-Key', schema: ref('Job') }),
      err(400, 'invalid_request: malformed JSON, JSON nested deeper than 32 / over 1,000 keys per object / 10,000 items per array / 100,000 values, a "__proto__" key, unknown agent, bad input'),
      err(409, 'idempotency_conflict'),
      err(413, 'payload_too_large: body over the limit (1 MiB)'),
      err(415, 'unsupported_media_type: a JSON body in a charset other than UTF-8'),
      err(503, 'service_unavailable: a dependency is down, or (embedded engine) running jobs fill the event memory budget; with Retry-After'),
    ),
  list: () =>
    applyDecorators(
      ...common,
      ApiOperation({ summary: "The tenant's jobs, newest first" }),
      ApiQuery({ name: 'status', required: false, enum: ['queued', 'running', 'waiting_for_input', 'completed', 'failed', 'cancelled'] }),
      ApiQuery({ name: 'limit', required: false, schema: { type: 'integer', minimum: 1, maximum: LIST_LIMIT_MAX, default: 20 } }),
      ApiQuery({ name: 'cursor', required: false, description: 'next_cursor of the previous page' }),
      ApiResponse({ status: 200, schema: ref('JobList') }),
      err(400, 'invalid_request / invalid_cursor'),
    ),
  get: () => applyDecorators(...common, ApiOperation({ summary: 'A job' }), idParam, ApiResponse({ status: 200, schema: ref('Job') }), err(404, 'unknown job, or a job of another tenant')),
  cancel: () =>
    applyDecorators(
      ...common,
      ApiOperation({ summary: 'Ask a job to stop (idempotent)', description: 'A queued job never runs; a running job ends with a `cancelled` event carrying the usage so far.' }),
      idParam,
      ApiBody({ schema: ref('CancelJobRequest'), required: false }),
      ApiResponse({ status: 202, schema: ref('Job') }),
      err(404, 'unknown job'),
    ),
  events: () =>
    applyDecorators(
      ...common,
      ApiOperation({ summary: 'Polling fallback: a page of events after a cursor' }),
      idParam,
      ApiQuery({ name: 'after', required: false, description: 'cursor (an event id); absent or 0 ⇒ from the first event' }),
      ApiQuery({ name: 'limit', required: false, schema: { type: 'integer', minimum: 1, maximum: EVENTS_LIMIT_MAX, default: 100 } }),
      ApiResponse({ status: 200, schema: ref('EventsPage') }),
      err(400, 'invalid_cursor: malformed, foreign or ahead of the log'),
      err(404, 'unknown job'),
      err(410, 'cursor_expired: the events after this cursor are no longer retained'),
    ),
  wait: () =>
    applyDecorators(
      ...common,
      ApiOperation({ summary: 'Block until the job is terminal or the timeout passes' }),
      idParam,
      ApiQuery({ name: 'timeout_s', required: false, schema: { type: 'integer', minimum: 0, maximum: WAIT_TIMEOUT_MAX_S, default: 30 } }),
      ApiResponse({ status: 200, schema: ref('Job') }),
      err(404, 'unknown job'),
    ),
  streamToken: () =>
    applyDecorators(
      ...common,
      ApiOperation({
        summary: 'A browser stream token for this job',
        description:
          '`EventSource` cannot send an Authorization header. This returns a short-lived (STREAM_TOKEN_TTL_S, default 300 s), read-only token scoped to this one job: open `stream_url` (the stream with `?access_token=<token>`), e.g. `new EventSource(base + stream_url)`. To resume with a token, add `&after=<last id>` (or let EventSource send Last-Event-ID); ask for a new token when it expires. The token is accepted by `GET /v1/jobs/{id}/stream` only — every other endpoint refuses it. Signed with HMAC-SHA256 (STREAM_TOKEN_SECRET, shared by all API instances; unset ⇒ a random per-process secret, tokens then work only on the issuing instance). The response is `Cache-Control: no-store`.',
      }),
      idParam,
      ApiResponse({ status: 200, description: 'a token', schema: ref('StreamToken') }),
      err(404, 'unknown job, or a job of another tenant'),
    ),
  stream: () =>
    applyDecorators(
      ...common,
      ApiOperation({
        summary: 'The SSE stream of a job',
        description:
          'Server-Sent Events. Each event: `id: <cursor>`, `event: <type>`, `data: <JobEvent JSON>`. Resume with the `Last-Event-ID` header or `?after=` (the header wins): exactly the events after it, no gap, no duplicate. `: keepalive` comments every HEARTBEAT_MS; `retry:` once at the start; the response ends after the terminal event (done, error, cancelled).\n\nSwagger UI cannot render a stream; try `curl -N`.',
      }),
      idParam,
      ApiHeader({ name: 'Last-Event-ID', required: false, description: 'cursor to resume after (wins over ?after=)' }),
      ApiQuery({ name: 'after', required: false, description: 'cursor to resume after; absent or 0 ⇒ from the first event' }),
      ApiQuery({
        name: 'access_token',
        required: false,
        description:
          'a stream token from `POST /v1/jobs/{id}/stream-tokens`, instead of the Authorization header (for EventSource). Expired, tampered or another job\'s token ⇒ 401; sending both ⇒ 400.',
      }),
      ApiProduces('text/event-stream'),
      ApiResponse({
        status: 200,
        description: 'text/event-stream of JobEvents',
        content: {
          'text/event-stream': {
            schema: { type: 'string', description: 'frames whose `data` is a JobEvent (schema `JobEvent`)', example: SSE_EXAMPLE },
            example: SSE_EXAMPLE,
          },
        },
      }),
      err(400, 'invalid_cursor; or both an Authorization header and an access_token'),
      err(404, 'unknown job'),
      err(410, 'cursor_expired'),
    ),
};
