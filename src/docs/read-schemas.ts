/** OpenAPI component schemas of reading jobs: lists, event pages, snapshots, stream tokens, and the error body. */
import { JOB_STATUSES } from '@jobstream/contracts';
import { eventSchemas } from './job-schemas.js';
import { ref, toolCallSchema, type Schema } from './schema-helpers.js';

export function readSchemas(): Record<string, Schema> {
  const events = eventSchemas();
  return {
    JobList: {
      type: 'object',
      required: ['items', 'next_cursor'],
      properties: { items: { type: 'array', items: ref('Job') }, next_cursor: { type: 'string', nullable: true } },
    },
    EventsPage: {
      type: 'object',
      required: ['events', 'next_after', 'has_more', 'status'],
      properties: {
        // the union inline, not allOf [JobEvent]: generators read allOf over a discriminated schema as a subtype and
        // drop `type` (openapi-typescript: Omit<JobEvent, "type">), which loses every event's own fields
        events: {
          type: 'array',
          items: {
            allOf: [
              { oneOf: Object.keys(events).map(ref) },
              {
                type: 'object',
                required: ['id'],
                properties: { id: { type: 'string', description: 'cursor: resume after this event' } },
              },
            ],
          },
        },
        next_after: { type: 'string', nullable: true, description: 'pass as `after` to get the next page' },
        has_more: { type: 'boolean' },
        status: { type: 'string', enum: [...JOB_STATUSES] },
      },
    },
    JobSnapshot: {
      type: 'object',
      required: [
        'job_id',
        'seq',
        'type',
        'status',
        'attempt',
        'text',
        'thinking',
        'open_tool_calls',
        'pending_input',
        'usage',
      ],
      description:
        "A job's state at a cursor (the `snapshot` SSE event of `?snapshot=true`, and `GET /v1/jobs/{id}/snapshot`), computed by the shared reducer (`reduceJobEvent` in the SDK): continue it with the events after `seq`.",
      properties: {
        job_id: { type: 'string', example: 'job_01JD7Y3Z8W4X2V9Q5R6S7T8U9V' },
        seq: { type: 'integer', minimum: 0, description: 'seq of the last event it includes (0 = before the first)' },
        type: { type: 'string', enum: ['snapshot'] },
        status: { type: 'string', enum: [...JOB_STATUSES] },
        attempt: { type: 'integer', minimum: 1 },
        text: { type: 'string', description: "the current attempt's token text up to the cursor" },
        thinking: { type: 'string', description: "the current attempt's thinking text up to the cursor" },
        open_tool_calls: {
          type: 'array',
          description: 'tool calls of the current attempt started and not ended',
          items: toolCallSchema(),
        },
        pending_input: {
          allOf: [ref('InputRequiredEvent')],
          nullable: true,
          description: 'the open input_required event, or null',
        },
        usage: {
          allOf: [ref('Usage')],
          description: "as reported by the terminal event; zero before it (like the job's usage)",
        },
        id: {
          type: 'string',
          description: '(GET /snapshot only) the cursor it describes: resume the stream after it; `0` at the start',
        },
      },
    },
    StreamToken: {
      type: 'object',
      required: ['token', 'expires_at', 'stream_url'],
      description:
        "A short-lived, read-only token for ONE job's SSE stream, for clients that cannot send headers (EventSource).",
      properties: {
        token: {
          type: 'string',
          description: 'opaque; pass as `access_token` on the stream',
          example: 'st1.eyJ2IjoxLCJ0IjoiYWNtZSIs….9eWq…',
        },
        expires_at: {
          type: 'string',
          format: 'date-time',
          description: 'refused from this time on (STREAM_TOKEN_TTL_S after issue)',
        },
        stream_url: {
          type: 'string',
          description: 'the stream URL with the token, relative to the API',
          example: '/v1/jobs/job_01JD7Y3Z8W4X2V9Q5R6S7T8U9V/stream?access_token=st1.…',
        },
      },
    },
    Error: {
      type: 'object',
      required: ['error'],
      properties: {
        error: {
          type: 'object',
          required: ['code', 'message'],
          properties: {
            code: { type: 'string', description: 'machine-readable: invalid_request, unauthorized, not_found, …' },
            message: { type: 'string' },
          },
        },
      },
    },
  };
}
