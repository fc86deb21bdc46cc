/** OpenAPI component schemas of threads, agents, batches, reruns, AG-UI runs and share links. */
import { runAgentInputSchema } from '../ag-ui/run-agent-input.js';
import {
  createShareRequestSchema,
  createThreadRequestSchema,
  createTurnRequestSchema,
  rerunJobRequestSchema,
} from '@jobstream/contracts';
import { ref, toOpenApi, type Schema } from './schema-helpers.js';

export function threadSchemas(): Record<string, Schema> {
  return {
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
  };
}
