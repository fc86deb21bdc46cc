/** OpenAPI decorators of the AG-UI endpoint (`?format=ag-ui` of the stream is documented with the stream). */
import { applyDecorators } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiParam, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import { body } from './doc-helpers.js';
import { errorResponse } from './error-responses.js';

const err = errorResponse;

const RUN_EXAMPLE = [
  'retry: 2000',
  ': keepalive',
  '',
  'id: 1-1-k3x9a1',
  'data: {"type":"RUN_STARTED","threadId":"chat-1","runId":"run-1","timestamp":1767225600000}',
  '',
  'id: 3-3-k3x9a1.0',
  'data: {"type":"TEXT_MESSAGE_START","messageId":"job_01…:1:m1","role":"assistant","timestamp":1767225600000}',
  '',
  'id: 3-3-k3x9a1',
  'data: {"type":"TEXT_MESSAGE_CONTENT","messageId":"job_01…:1:m1","delta":"Hello ","timestamp":1767225600000}',
  '',
  'id: 9-9-k3x9a1.0',
  'data: {"type":"TEXT_MESSAGE_END","messageId":"job_01…:1:m1","timestamp":1767225600000}',
  '',
  'id: 9-9-k3x9a1',
  'data: {"type":"RUN_FINISHED","threadId":"chat-1","runId":"run-1","outcome":{"type":"success"},…}',
  '',
].join('\n');

export const ApiAgUiDocs = {
  run: () =>
    applyDecorators(
      ApiTags('Streams'),
      ApiBearerAuth(),
      ApiOperation({
        summary: "One AG-UI run (the endpoint of @ag-ui/client's HttpAgent)",
        description:
          'Body: AG-UI `RunAgentInput` (`@ag-ui/core` 1.0). `threadId` names a thread of the tenant (created on ' +
          "first use); the messages since the last turn become the turn's input (echo: the last user message is " +
          '`message`), `forwardedProps.input` is merged into it and `forwardedProps.if_busy` is the thread policy ' +
          '(default `reject` ⇒ 409 `thread_busy`); the same `runId` again ⇒ the same turn. `resume` entries answer ' +
          "the job's open interrupt; tool messages answer the frontend tool calls it waits for. The answer is the " +
          "run's AG-UI event stream (SSE, every frame with an `id:` cursor; `GET /v1/jobs/{id}/stream?format=ag-ui` " +
          'resumes it). See docs/ag-ui.md.',
      }),
      ApiParam({ name: 'agent', description: 'the agent that runs the thread', example: 'echo' }),
      body('RunAgentInput'),
      ApiProduces('text/event-stream'),
      ApiResponse({
        status: 200,
        description: 'the run as AG-UI events (RUN_STARTED … RUN_FINISHED or RUN_ERROR)',
        content: { 'text/event-stream': { schema: { type: 'string' }, example: RUN_EXAMPLE } },
      }),
      err(
        400,
        'invalid_request: not a RunAgentInput, no user message, input the agent refuses; unknown_agent: an agent no worker has announced',
      ),
      err(401, 'no or bad API key'),
      err(404, 'resume or tool results for an unknown thread'),
      err(409, "thread_busy (a turn is active), not_waiting, already_answered, conflict (another agent's thread)"),
      err(429, 'rate_limited / quota_exceeded (active jobs, threads); with Retry-After'),
      err(503, 'a dependency is down (Retry-After)'),
    ),
};
