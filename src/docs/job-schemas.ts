/** OpenAPI component schemas of jobs: the events, the job, and the requests that create, cancel and answer one. */
import { z } from 'zod';
import {
  JOB_STATUSES,
  agentEventSchema,
  cancelJobRequestSchema,
  createJobRequestSchema,
  echoInputSchema,
  inputJobRequestSchema,
  usageSchema,
} from '@jobstream/contracts';
import { ref, toOpenApi, toolCallSchema, type Schema } from './schema-helpers.js';

const envelope = {
  job_id: { type: 'string', example: 'job_01JD7Y3Z8W4X2V9Q5R6S7T8U9V' },
  seq: { type: 'integer', minimum: 1, description: '1, 2, 3… dense per job: a client can check for gaps' },
  ts: { type: 'string', format: 'date-time' },
  attempt: { type: 'integer', minimum: 1 },
};

/** One schema per event type (`TokenEvent`, …), the envelope's fields included. */
export function eventSchemas(): Record<string, Schema> {
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

export function jobSchemas(): Record<string, Schema> {
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
          items: toolCallSchema(),
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
  };
}
