/** OpenAPI decorators of the HTTP worker protocol (`/v1/worker/*`, tag `worker`). */
import { applyDecorators } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBody,
  ApiHeader,
  ApiOperation,
  ApiParam,
  ApiResponse,
  ApiTags,
  type ApiResponseSchemaHost,
} from '@nestjs/swagger';
import { errorResponse } from './error-responses.js';

type SchemaObject = ApiResponseSchemaHost['schema'];

const usage: SchemaObject = {
  type: 'object',
  properties: { input_tokens: { type: 'integer' }, output_tokens: { type: 'integer' } },
};
const common = () => [ApiTags('worker'), ApiBearerAuth()];
const auth = () => [
  errorResponse(401, 'no or bad worker key'),
  errorResponse(403, 'a tenant API key (only worker keys are accepted here): forbidden'),
  errorResponse(503, 'the job store, event log or queue is unavailable; retry after Retry-After'),
];
/** A JSON object response with these properties (and a description, when given). */
const objectResponse = (status: number, description: string | undefined, properties: Record<string, SchemaObject>) => {
  const schema: SchemaObject = { type: 'object', properties };
  return ApiResponse(description === undefined ? { status, schema } : { status, description, schema });
};
const leaseParam = () => ApiParam({ name: 'lease_id', description: 'the lease of a claim' });

export const ApiWorkerDocs = {
  claim: () =>
    applyDecorators(
      ...common(),
      ApiOperation({
        summary: 'Announce agents and claim at most one job',
        description:
          'Announces the agents this worker serves (their input schemas must compile as JSON Schema 2020-12) and ' +
          'waits up to `wait_s` (0–30) for one job of those agents. `200` is a lease: run the agent on `input` ' +
          '(continuing from `history` when the job resumes after an answer) and append its outputs under ' +
          '`lease_id`; `204` when no job came. The lease lapses WORKER_LEASE_S after the last accepted request.',
      }),
      ApiBody({
        schema: {
          type: 'object',
          required: ['worker_id', 'agents'],
          properties: {
            worker_id: { type: 'string', example: 'py-host-1234' },
            agents: {
              type: 'array',
              items: {
                type: 'object',
                required: ['name', 'input_schema'],
                properties: {
                  name: { type: 'string', example: 'summarise' },
                  description: { type: 'string' },
                  input_schema: {
                    type: 'object',
                    example: { type: 'object', properties: { text: { type: 'string' } } },
                  },
                },
              },
            },
            wait_s: { type: 'number', minimum: 0, maximum: 30, default: 0 },
          },
        },
      }),
      objectResponse(200, 'a lease', {
        lease_id: { type: 'string' },
        job_id: { type: 'string' },
        attempt: { type: 'integer' },
        agent: { type: 'string' },
        input: { type: 'object' },
        history: { type: 'array', items: { type: 'object' } },
        lease_expires_at: { type: 'string', format: 'date-time' },
        usage: usage,
      }),
      ApiResponse({ status: 204, description: 'no job came within wait_s' }),
      errorResponse(400, 'invalid_request: a malformed body, or an input_schema that does not compile'),
      ...auth(),
    ),
  events: () =>
    applyDecorators(
      ...common(),
      leaseParam(),
      ApiOperation({
        summary: "Append a batch of the agent's outputs",
        description:
          'A JSON array of agent outputs (`token`, `thinking`, `tool_call_start`, `tool_call_end`, ' +
          '`input_required`, `done`, `error`, `cancelled`), numbered by `Producer-Seq` (0, 1, 2 … per lease). ' +
          '`n` = last accepted + 1 ⇒ appended (`200`); `n` ≤ last ⇒ `204`, nothing appended (a retry); `n` > last + 1 ' +
          '⇒ `409 producer_seq_gap` with `error.expected`. A terminal output or `input_required` ends the lease. ' +
          'A malformed output is refused with its path, nothing appended.',
      }),
      ApiHeader({ name: 'Producer-Seq', required: true, description: '0, 1, 2 … per lease, one number per request' }),
      ApiBody({ schema: { type: 'array', items: { type: 'object' }, example: [{ type: 'token', text: 'Hel' }] } }),
      objectResponse(200, 'appended', {
        next_producer_seq: { type: 'integer' },
        cancel_requested: { type: 'boolean' },
        cancel_reason: { type: 'string' },
        lease_expires_at: { type: 'string', format: 'date-time' },
        last_event_id: { type: 'string', nullable: true },
      }),
      ApiResponse({ status: 204, description: 'this Producer-Seq was accepted before: nothing appended' }),
      errorResponse(400, 'invalid_request: a malformed output (its path) or Producer-Seq'),
      errorResponse(404, 'not_found: unknown lease'),
      errorResponse(409, 'producer_seq_gap (error.expected is the number wanted)'),
      errorResponse(410, 'lease_lost: the lease lapsed, the job moved to another attempt, or it ended'),
      errorResponse(413, 'payload_too_large: an output over MAX_EVENT_BYTES, or too many outputs'),
      ...auth(),
    ),
  heartbeat: () =>
    applyDecorators(
      ...common(),
      leaseParam(),
      ApiOperation({
        summary: 'Keep a lease alive',
        description: 'Extends the lease by WORKER_LEASE_S and says whether a cancel was asked for.',
      }),
      objectResponse(200, undefined, {
        cancel_requested: { type: 'boolean' },
        cancel_reason: { type: 'string' },
        lease_expires_at: { type: 'string', format: 'date-time' },
      }),
      errorResponse(404, 'not_found: unknown lease'),
      errorResponse(410, 'lease_lost'),
      ...auth(),
    ),
};
