/**
 * OpenAPI component schemas generated from the zod contracts (one source of truth for validation and docs).
 */
import { runAgentInputSchema } from '../ag-ui/run-agent-input.js';
import { z } from 'zod';
import {
  JOB_STATUSES,
  agentEventSchema,
  cancelJobRequestSchema,
  createJobRequestSchema,
  createShareRequestSchema,
  createThreadRequestSchema,
  createTurnRequestSchema,
  echoInputSchema,
  inputJobRequestSchema,
  rerunJobRequestSchema,
  usageSchema,
} from '@jobstream/contracts';

type Schema = Record<string, unknown>;

function toOpenApi(schema: z.ZodType, io: 'input' | 'output' = 'output'): Schema {
  const json = z.toJSONSchema(schema, { target: 'openapi-3.0', io, unrepresentable: 'any' }) as Schema;
  delete json.$schema;
  return json;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

const envelope = {
  job_id: { type: 'string', example: 'job_01JD7Y3Z8W4X2V9Q5R6S7T8U9V' },
  seq: { type: 'integer', minimum: 1, description: '1, 2, 3… dense per job: a client can check for gaps' },
  ts: { type: 'string', format: 'date-time' },
  attempt: { type: 'integer', minimum: 1 },
};

function eventSchemas(): Record<string, Schema> {
  const out: Record<string, Schema> = {};
  for (const option of agentEventSchema.options) {
    const body = toOpenApi(option as z.ZodType);
    const type = ((body.properties as Record<string, { enum?: string[] }>).type?.enum ?? ['event'])[0]!;
    const name = `${type
      .split('_')
      .map((p) => p[0]!.toUpperCase() + p.slice(1))
      .join('')}Event`;
    out[name] = {
      ...body,
      properties: { ...envelope, ...(body.properties as Schema) },
      required: [
        ...new Set([
          'job_id',
          'seq',
          'type',
          'ts',
          'attempt',
          ...((body.required as string[]) ?? []).filter((r) => r !== 'type'),
        ]),
      ],
    };
  }
  return out;
}

export function componentSchemas(): Record<string, Schema> {
  const events = eventSchemas();
  return {
    ...events,
    JobEvent: {
      oneOf: Object.keys(events).map(ref),
      // the mapping is needed: without it a discriminator value means the schema's NAME ("TokenEvent"), not "token"
      discriminator: {
        propertyName: 'type',
        mapping: Object.fromEntries(
          Object.entries(events).map(([name, s]) => [
            (s.properties as Record<string, { enum: string[] }>).type.enum[0],
            ref(name).$ref,
          ]),
        ),
      },
      description: 'One event of a job. `id` of the SSE frame is the cursor to resume after it.',
    },
    Usage: { ...toOpenApi(usageSchema), example: { input_tokens: 5, output_tokens: 5 } },
    CreateJobRequest: {
      ...toOpenApi(createJobRequestSchema, 'input'),
      example: { agent: 'echo', input: { message: 'Hello, streaming world!', repeat: 2, delay_ms: 50 } },
    },
    EchoInput: toOpenApi(echoInputSchema, 'input'),
    CancelJobRequest: toOpenApi(cancelJobRequestSchema, 'input'),
    InputJobRequest: {
      ...toOpenApi(inputJobRequestSchema, 'input'),
      description:
        "The answer to the open `input_required`; `input` must satisfy the request's `schema` (at most 256 KiB as JSON).",
      examples: undefined,
      example: { request_id: 'req_01JD7Y3Z8W4X2V9Q5R6S7T8U9V', input: { approved: true } },
    },
    PendingInput: {
      type: 'object',
      required: ['request_id', 'kind', 'prompt', 'schema', 'expires_at'],
      description: 'The open question of a job that waits for input (the fields of its `input_required` event).',
      properties: {
        request_id: { type: 'string' },
        kind: { type: 'string', enum: ['approval', 'text', 'tool_results'] },
        prompt: { type: 'string' },
        schema: {
          type: 'object',
          additionalProperties: true,
          description: 'JSON Schema (draft 2020-12) the answer must satisfy',
        },
        tool_calls: {
          type: 'array',
          items: {
            type: 'object',
            required: ['call_id', 'name', 'arguments'],
            properties: { call_id: { type: 'string' }, name: { type: 'string' }, arguments: {} },
          },
        },
        expires_at: {
          type: 'string',
          format: 'date-time',
          description: 'unanswered by then ⇒ the job ends with error input_timeout',
        },
      },
    },
    Job: {
      type: 'object',
      required: [
        'id',
        'agent',
        'status',
        'created_at',
        'started_at',
        'finished_at',
        'attempt',
        'last_event_id',
        'usage',
        'error',
        'stream_url',
        'events_url',
      ],
      properties: {
        id: { type: 'string', example: 'job_01JD7Y3Z8W4X2V9Q5R6S7T8U9V' },
        agent: { type: 'string', example: 'echo' },
        status: { type: 'string', enum: [...JOB_STATUSES] },
        created_at: { type: 'string', format: 'date-time' },
        started_at: { type: 'string', format: 'date-time', nullable: true },
        finished_at: { type: 'string', format: 'date-time', nullable: true },
        attempt: { type: 'integer', minimum: 1 },
        last_event_id: { type: 'string', nullable: true, description: 'cursor of the newest event' },
        usage: ref('Usage'),
        error: {
          type: 'object',
          nullable: true,
          properties: { code: { type: 'string' }, message: { type: 'string' } },
        },
        metadata: { type: 'object', nullable: true, additionalProperties: true },
        pending_input: {
          allOf: [ref('PendingInput')],
          nullable: true,
          description: 'the open request while the job is waiting_for_input, else null',
        },
        waiting_for_worker: {
          type: 'boolean',
          description:
            'GET of a queued job: true when no live worker serves its agent now (it waits for one); absent otherwise',
        },
        stream_url: { type: 'string', example: '/v1/jobs/job_01JD7Y3Z8W4X2V9Q5R6S7T8U9V/stream' },
        events_url: { type: 'string', example: '/v1/jobs/job_01JD7Y3Z8W4X2V9Q5R6S7T8U9V/events' },
        thread_id: {
          type: 'string',
          description: 'the thread of this turn (absent outside threads)',
          example: 'thr_01JD7Y3Z8W4X2V9Q5R6S7T8U9V',
        },
        turn: { type: 'integer', minimum: 1, description: 'the turn number within its thread' },
        rerun_of: { type: 'string', description: 'the job this one reruns' },
      },
      // as created: queued, nothing started or finished yet
      example: {
        id: 'job_01JD7Y3Z8W4X2V9Q5R6S7T8U9V',
        agent: 'echo',
        status: 'queued',
        created_at: '2026-12-07T18:50:11.591Z',
        started_at: null,
        finished_at: null,
        attempt: 1,
        last_event_id: '1-1-3a4uz6',
        usage: { input_tokens: 0, output_tokens: 0 },
        error: null,
        metadata: null,
        pending_input: null,
        stream_url: '/v1/jobs/job_01JD7Y3Z8W4X2V9Q5R6S7T8U9V/stream',
        events_url: '/v1/jobs/job_01JD7Y3Z8W4X2V9Q5R6S7T8U9V/events',
      },
    },
    CreateThreadRequest: {
      ...toOpenApi(createThreadRequestSchema, 'input'),
      example: { agent: 'echo', metadata: { user: 'u_42' } },
    },
    CreateTurnRequest: {
      ...toOpenApi(createTurnRequestSchema, 'input'),
      example: { input: { message: 'And what about tomorrow?' }, if_busy: 'interrupt' },
    },
    RerunJobRequest: toOpenApi(rerunJobRequestSchema, 'input'),
    RunAgentInput: {
      ...toOpenApi(runAgentInputSchema, 'input'),
      description: "AG-UI's RunAgentInput (@ag-ui/core 1.0); fields not listed are accepted and ignored",
      example: {
        threadId: 'chat-1',
        runId: 'run-1',
        messages: [{ id: 'm1', role: 'user', content: 'Hello there' }],
        tools: [],
        context: [],
        forwardedProps: { input: { delay_ms: 50 }, if_busy: 'reject' },
      },
    },
    Thread: {
      type: 'object',
      required: [
        'id',
        'agent',
        'status',
        'turns',
        'active_job_id',
        'last_job_id',
        'created_at',
        'updated_at',
        'metadata',
      ],
      properties: {
        id: { type: 'string', example: 'thr_01JD7Y3Z8W4X2V9Q5R6S7T8U9V' },
        agent: { type: 'string', example: 'echo' },
        status: { type: 'string', enum: ['idle', 'busy'] },
        turns: { type: 'integer', minimum: 0, description: 'turns created so far (waiting ones included)' },
        active_job_id: { type: 'string', nullable: true },
        last_job_id: { type: 'string', nullable: true },
        external_id: {
          type: 'string',
          description: "the thread's name in an outside system: the AG-UI threadId of a thread POST /v1/ag-ui made",
          example: 'chat-42',
        },
        created_at: { type: 'string', format: 'date-time' },
        updated_at: { type: 'string', format: 'date-time' },
        metadata: { type: 'object', nullable: true, additionalProperties: true },
      },
      example: {
        id: 'thr_01JD7Y3Z8W4X2V9Q5R6S7T8U9V',
        agent: 'echo',
        status: 'busy',
        turns: 2,
        active_job_id: 'job_01JD7Y40000000000000000002',
        last_job_id: 'job_01JD7Y40000000000000000002',
        created_at: '2026-01-01T10:00:00.000Z',
        updated_at: '2026-01-01T10:01:00.000Z',
        metadata: null,
      },
    },
    Agent: {
      type: 'object',
      required: ['name', 'description', 'input_schema', 'workers'],
      properties: {
        name: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' },
        description: { type: 'string' },
        input_schema: { type: 'object', additionalProperties: true, description: 'JSON Schema (draft 2020-12)' },
        workers: { type: 'integer', minimum: 0, description: 'live workers serving this agent now' },
      },
      example: {
        name: 'echo',
        description: 'Deterministic test agent',
        input_schema: { type: 'object', properties: { message: { type: 'string' } }, required: ['message'] },
        workers: 2,
      },
    },
    AgentList: {
      type: 'object',
      required: ['items'],
      properties: { items: { type: 'array', items: ref('Agent') } },
    },
    ThreadList: {
      type: 'object',
      required: ['items', 'next_cursor'],
      properties: { items: { type: 'array', items: ref('Thread') }, next_cursor: { type: 'string', nullable: true } },
    },
    BatchJobsRequest: {
      type: 'object',
      required: ['jobs'],
      properties: {
        jobs: {
          type: 'array',
          minItems: 1,
          maxItems: 100,
          items: {
            allOf: [ref('CreateJobRequest'), { type: 'object', properties: { idempotency_key: { type: 'string' } } }],
          },
        },
      },
      example: {
        jobs: [
          { agent: 'echo', input: { message: 'one' }, idempotency_key: 'batch-1-a' },
          { agent: 'nope', input: {} },
        ],
      },
    },
    BatchJobsResponse: {
      type: 'object',
      required: ['items'],
      properties: {
        items: {
          type: 'array',
          items: { oneOf: [{ type: 'object', required: ['job'], properties: { job: ref('Job') } }, ref('Error')] },
        },
      },
      example: {
        items: [
          { job: { id: 'job_01JD7Y3Z8W4X2V9Q5R6S7T8U9V', agent: 'echo', status: 'queued' } },
          { error: { code: 'unknown_agent', message: 'unknown agent "nope": no worker has announced it' } },
        ],
      },
    },
    CreateShareRequest: { ...toOpenApi(createShareRequestSchema, 'input'), example: { expires_in_s: 86400 } },
    Share: {
      type: 'object',
      required: ['id', 'job_id', 'created_at', 'expires_at'],
      properties: {
        id: { type: 'string', example: 'shr_01JD7Y3Z8W4X2V9Q5R6S7T8U9V' },
        job_id: { type: 'string' },
        created_at: { type: 'string', format: 'date-time' },
        expires_at: { type: 'string', format: 'date-time' },
      },
    },
    IssuedShare: {
      allOf: [
        ref('Share'),
        {
          type: 'object',
          required: ['token', 'stream_url', 'events_url', 'job_url'],
          properties: {
            token: { type: 'string', description: 'shown once; pass as `share_token`', example: 'sh1_Jx9…' },
            stream_url: {
              type: 'string',
              example: '/v1/jobs/job_01JD7Y3Z8W4X2V9Q5R6S7T8U9V/stream?share_token=sh1_Jx9…',
            },
            events_url: {
              type: 'string',
              example: '/v1/jobs/job_01JD7Y3Z8W4X2V9Q5R6S7T8U9V/events?share_token=sh1_Jx9…',
            },
            job_url: { type: 'string', example: '/v1/jobs/job_01JD7Y3Z8W4X2V9Q5R6S7T8U9V?share_token=sh1_Jx9…' },
          },
        },
      ],
    },
    ShareList: { type: 'object', required: ['items'], properties: { items: { type: 'array', items: ref('Share') } } },
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
          items: {
            type: 'object',
            required: ['call_id', 'name', 'arguments'],
            properties: { call_id: { type: 'string' }, name: { type: 'string' }, arguments: {} },
          },
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
