/** OpenAPI decorators of the jobs endpoints, kept out of the controllers. */
import { applyDecorators } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiHeader,
  ApiOperation,
  ApiParam,
  ApiProduces,
  ApiQuery,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import { EVENTS_LIMIT_MAX, LIST_LIMIT_MAX, WAIT_TIMEOUT_MAX_S } from '../jobs/jobs.constants.js';
import { body, idempotencyKey, operation, ref, returns } from './doc-helpers.js';
import { errorResponse } from './error-responses.js';

const err = errorResponse;
const idParam = ApiParam({ name: 'id', description: 'job id', example: 'job_01JD7Y3Z8W4X2V9Q5R6S7T8U9V' });
const common = [ApiTags('Jobs'), ApiBearerAuth(), err(401, 'no or bad API key')];
/** The SSE endpoints and their tokens form the Streams resource. */
const streams = [ApiTags('Streams'), ApiBearerAuth(), err(401, 'no or bad API key')];
const shareTokenQuery = ApiQuery({
  name: 'share_token',
  required: false,
  type: String,
  description:
    'a share link token (`POST /v1/jobs/{id}/shares`) instead of the Authorization header: read-only, this job only; revoked or expired ⇒ 401',
});

const TYPES_QUERY = ApiQuery({
  name: 'types',
  required: false,
  description:
    'comma-separated event types to send (e.g. `token,done`); terminal events (done, error, cancelled) are always sent. Events keep their global `seq` (gaps are expected) and cursors; resuming with a cursor under the same filter is exact. The response echoes the effective list in `X-Jobstream-Filter`. Unknown type ⇒ 400 `invalid_request`.',
  schema: { type: 'string', example: 'token,tool_call_start,tool_call_end' },
});
const FILTER_HEADER_DOC = {
  'X-Jobstream-Filter': { description: 'the effective type filter (with ?types=)', schema: { type: 'string' } },
};

const AI_SDK_EXAMPLE = `data: {"type":"start","messageId":"job_…","messageMetadata":{"job_id":"job_…","attempt":1}}

data: {"type":"data-jobstream","id":"status","data":{"job_id":"job_…","seq":1,"type":"status","status":"queued",…}}

data: {"type":"text-start","id":"t1"}

data: {"type":"text-delta","id":"t1","delta":"Hello "}

data: {"type":"text-end","id":"t1"}

data: {"type":"finish","finishReason":"stop","messageMetadata":{"job_id":"job_…","attempt":1,"status":"completed","usage":{…}}}

data: [DONE]
`;

const SNAPSHOT_EXAMPLE = `id: 5-9-k3x9a1
event: snapshot
data: {"job_id":"job_…","seq":5,"type":"snapshot","status":"running","attempt":1,"text":"Hello wor","thinking":"","open_tool_calls":[],"pending_input":null,"usage":{"input_tokens":0,"output_tokens":0}}
`;

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
      operation(
        'Create a job',
        'Same Idempotency-Key + same body ⇒ the same job again (200); same key + another body ⇒ 409.',
      ),
      idempotencyKey('retry-safe creation (1–255 visible ASCII chars)'),
      body('CreateJobRequest'),
      returns(201, 'Job', 'created'),
      returns(200, 'Job', 'the job created earlier with this Idempotency-Key'),
      err(
        400,
        'invalid_request: malformed JSON, JSON nested deeper than 32 / over 1,000 keys per object / 10,000 items per array / 100,000 values, a "__proto__" key, bad input (its path first); unknown_agent: an agent no worker has announced',
      ),
      err(409, 'idempotency_conflict'),
      err(413, 'payload_too_large: body over the limit (1 MiB)'),
      err(415, 'unsupported_media_type: a JSON body in a charset other than UTF-8'),
      err(
        429,
        'rate_limited: the tenant created too many jobs a minute (RATE_LIMIT_CREATE_PER_MIN); quota_exceeded: the tenant has TENANT_MAX_ACTIVE_JOBS jobs queued, running or waiting for input, or its events in the log have reached its log-bytes quota (TENANT_LOG_BYTES_QUOTA). With Retry-After',
      ),
      err(
        503,
        'service_unavailable: a dependency is down, or the event log is full with running jobs (JETSTREAM_MAX_BYTES; embedded engine: its memory budget); with Retry-After',
      ),
    ),
  list: () =>
    applyDecorators(
      ...common,
      operation("The tenant's jobs, newest first"),
      ApiQuery({
        name: 'status',
        required: false,
        enum: ['queued', 'running', 'waiting_for_input', 'completed', 'failed', 'cancelled'],
      }),
      ApiQuery({
        name: 'limit',
        required: false,
        schema: { type: 'integer', minimum: 1, maximum: LIST_LIMIT_MAX, default: 20 },
      }),
      ApiQuery({ name: 'cursor', required: false, type: String, description: 'next_cursor of the previous page' }),
      returns(200, 'JobList'),
      err(400, 'invalid_request / invalid_cursor'),
    ),
  get: () =>
    applyDecorators(
      ...common,
      shareTokenQuery,
      operation('A job'),
      idParam,
      returns(200, 'Job'),
      err(404, 'unknown job, or a job of another tenant'),
    ),
  cancel: () =>
    applyDecorators(
      ...common,
      operation(
        'Ask a job to stop (idempotent)',
        'A queued job never runs; a job waiting for input ends at once; a running job ends with a `cancelled` event carrying the usage so far.',
      ),
      idParam,
      body('CancelJobRequest', false),
      returns(202, 'Job'),
      err(404, 'unknown job'),
    ),
  input: () =>
    applyDecorators(
      ...common,
      operation(
        "Answer a job's open input_required",
        'The job asked (`input_required` event; `pending_input` on the job) and waits (`waiting_for_input`), holding no worker. The answer must satisfy the request\'s JSON Schema; for `tool_results` it is `{ "results": [ { "call_id", "result" } | { "call_id", "error" } ] }`, one per call. Accepted ⇒ an `input_received` event, the job is dispatched again (202, status `queued` or `running`) and continues where it stopped. The same `request_id` and the same `input` again ⇒ 200 (idempotent).',
      ),
      idParam,
      body('InputJobRequest'),
      returns(202, 'Job', 'accepted; the job goes on'),
      returns(200, 'Job', 'this answer was accepted before (idempotent repeat)'),
      err(400, 'invalid_request: the input fails the request schema (the message names the failing path)'),
      err(404, 'unknown job, or a job of another tenant'),
      err(
        409,
        'not_waiting: the job is not waiting, or request_id is not the open request (expired, ended); already_answered: this request was answered with another input',
      ),
      err(413, 'payload_too_large: input over 256 KiB'),
      err(503, 'service_unavailable'),
    ),
  events: () =>
    applyDecorators(
      ...common,
      shareTokenQuery,
      operation('Polling fallback: a page of events after a cursor'),
      idParam,
      ApiQuery({
        name: 'after',
        required: false,
        type: String,
        description: 'cursor (an event id); absent or 0 ⇒ from the first event',
      }),
      ApiQuery({
        name: 'limit',
        required: false,
        schema: { type: 'integer', minimum: 1, maximum: EVENTS_LIMIT_MAX, default: 100 },
        description:
          'most events in the page; a page also ends at 1 MiB of event JSON (whichever comes first, at least one event): has_more says to ask again',
      }),
      TYPES_QUERY,
      ApiResponse({
        status: 200,
        schema: ref('EventsPage'),
        headers: FILTER_HEADER_DOC,
        description:
          'With ?types=, `events` holds the matching events only and `next_after` is the cursor of the last event looked at (matching or not), so the next page goes on from there.',
      }),
      err(400, 'invalid_cursor: malformed, foreign or ahead of the log; invalid_request: unknown type in ?types='),
      err(404, 'unknown job'),
      err(410, 'cursor_expired: the events after this cursor are no longer retained'),
    ),
  wait: () =>
    applyDecorators(
      ...common,
      operation('Block until the job is terminal, waits for input, or the timeout passes'),
      idParam,
      ApiQuery({
        name: 'timeout_s',
        required: false,
        schema: { type: 'integer', minimum: 0, maximum: WAIT_TIMEOUT_MAX_S, default: 30 },
      }),
      returns(200, 'Job'),
      err(404, 'unknown job'),
      err(429, 'quota_exceeded: the tenant has TENANT_MAX_WAITS waits open on this instance; with Retry-After'),
    ),
  streamToken: () =>
    applyDecorators(
      ...streams,
      operation(
        'A browser stream token for this job',
        '`EventSource` cannot send an Authorization header. This returns a short-lived (STREAM_TOKEN_TTL_S, default 300 s), read-only token scoped to this one job: open `stream_url` (the stream with `?access_token=<token>`), e.g. `new EventSource(base + stream_url)`. To resume with a token, add `&after=<last id>` (or let EventSource send Last-Event-ID); ask for a new token when it expires. The token is accepted by `GET /v1/jobs/{id}/stream` only — every other endpoint refuses it. Signed with HMAC-SHA256 (STREAM_TOKEN_SECRET, shared by all API instances; unset ⇒ a random per-process secret, tokens then work only on the issuing instance). The response is `Cache-Control: no-store`.',
      ),
      idParam,
      returns(200, 'StreamToken', 'a token'),
      err(404, 'unknown job, or a job of another tenant'),
    ),
  stream: () =>
    applyDecorators(
      ...streams,
      shareTokenQuery,
      ApiOperation({
        summary: 'The SSE stream of a job',
        description:
          'Server-Sent Events. Each event: `id: <cursor>`, `event: <type>`, `data: <JobEvent JSON>`. Resume with the `Last-Event-ID` header or `?after=` (the header wins): exactly the events after it, no gap, no duplicate. `: keepalive` comments every HEARTBEAT_MS; `retry:` once at the start; the response ends after the terminal event (done, error, cancelled).\n\n' +
          "**Resume v2.** `?snapshot=true` first sends one `snapshot` event (schema `JobSnapshot`; its `id` is the cursor it describes, `0` at the start) with the job's state at the cursor, then the events after it. `?types=` filters event types (terminal events always sent; header `X-Jobstream-Filter`). `?format=ai-sdk` answers the Vercel AI SDK UI message stream protocol v1 instead (header `x-vercel-ai-ui-message-stream: v1`, `data: <UIMessageChunk JSON>` lines, `data: [DONE]` at the end): `start`, `text-*` for tokens, `reasoning-*` for thinking, `tool-input-available`/`tool-output-available` for tool calls, `data-jobstream` parts for the other events, `finish`; always from the job's first event (a cursor is ignored: the AI SDK's resume replays the whole message); an `attempt` event restarts the message (a `start` with message id `<job id>:<attempt>`). `?format=ag-ui` answers AG-UI events (`@ag-ui/core` 1.0: `RUN_STARTED`, `TEXT_MESSAGE_*`, `REASONING_*`, `TOOL_CALL_*`, `RUN_FINISHED` — with an `interrupt` outcome while the job waits for input, after which a new run follows on the same response — or `RUN_ERROR`), `data:` lines only, each frame with an `id:` cursor (`<cursor>.<k>` for the frames inside one event) that `Last-Event-ID` resumes exactly (docs/ag-ui.md).\n\nSwagger UI cannot render a stream; try `curl -N`.",
      }),
      idParam,
      ApiHeader({ name: 'Last-Event-ID', required: false, description: 'cursor to resume after (wins over ?after=)' }),
      ApiQuery({
        name: 'after',
        required: false,
        type: String,
        description: 'cursor to resume after; absent or 0 ⇒ from the first event',
      }),
      ApiQuery({
        name: 'access_token',
        required: false,
        type: String,
        description:
          "a stream token from `POST /v1/jobs/{id}/stream-tokens`, instead of the Authorization header (for EventSource). Expired, tampered or another job's token ⇒ 401; sending both ⇒ 400.",
      }),
      ApiQuery({
        name: 'snapshot',
        required: false,
        schema: { type: 'boolean', default: false },
        description: 'send a `snapshot` event (schema `JobSnapshot`) of the state at the cursor first',
      }),
      TYPES_QUERY,
      ApiQuery({
        name: 'format',
        required: false,
        schema: { type: 'string', enum: ['sse', 'ai-sdk', 'ag-ui'], default: 'sse' },
        description:
          '`ai-sdk`: the AI SDK UI message stream protocol v1 (for `useChat`); `ag-ui`: AG-UI events (@ag-ui/core 1.0)',
      }),
      ApiProduces('text/event-stream'),
      ApiResponse({
        status: 200,
        description:
          'text/event-stream of JobEvents (a `snapshot` event first with ?snapshot=true); with ?format=ai-sdk, the AI SDK UI message stream',
        headers: {
          ...FILTER_HEADER_DOC,
          'x-vercel-ai-ui-message-stream': {
            description: '`v1` with ?format=ai-sdk (the AI SDK UI message stream protocol version)',
            schema: { type: 'string', enum: ['v1'] },
          },
        },
        content: {
          'text/event-stream': {
            schema: {
              type: 'string',
              description:
                'frames whose `data` is a JobEvent (schema `JobEvent`), or a `JobSnapshot` for the `snapshot` event; with ?format=ai-sdk, AI SDK UIMessageChunk JSON',
              example: SSE_EXAMPLE,
            },
            examples: {
              events: { value: SSE_EXAMPLE },
              snapshot: { summary: '?snapshot=true&after=…', value: SNAPSHOT_EXAMPLE },
              'ai-sdk': { summary: '?format=ai-sdk', value: AI_SDK_EXAMPLE },
            },
          },
        },
      }),
      err(
        400,
        'invalid_cursor; or both an Authorization header and an access_token; invalid_request: bad snapshot/format/types',
      ),
      err(404, 'unknown job'),
      err(410, 'cursor_expired'),
      err(
        429,
        'quota_exceeded: the tenant has MAX_STREAMS_PER_TENANT streams open (over every instance); too_many_connections: the share link has SHARE_MAX_STREAMS open streams; with Retry-After',
      ),
      err(
        503,
        'too_many_connections: this instance has MAX_STREAMS open streams; service_unavailable: a dependency is down; with Retry-After',
      ),
    ),
  snapshot: () =>
    applyDecorators(
      ...common,
      operation(
        "The job's state at a cursor (resume v2)",
        'The same JSON as the `snapshot` event of `GET /v1/jobs/{id}/stream?snapshot=true`, plus `id`: the cursor it describes. Resume the stream after `id` to continue it with the events that follow (a client that was away long skips the replay this way). Computed by the shared reducer from cached checkpoints, not a replay per request.',
      ),
      idParam,
      ApiQuery({
        name: 'at',
        required: false,
        type: String,
        description: 'cursor (an event id); absent ⇒ now (the newest event); `0` ⇒ before the first event',
      }),
      returns(200, 'JobSnapshot'),
      err(400, 'invalid_cursor: malformed, foreign or ahead of the log'),
      err(404, 'unknown job, or a job of another tenant'),
      err(410, "cursor_expired: the job's events needed to rebuild the state are no longer retained"),
    ),
};
