/** OpenAPI decorators of the agent catalogue. */
import { applyDecorators } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { errorResponse } from './error-responses.js';

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

export const ApiAgentsDocs = {
  list: () =>
    applyDecorators(
      ApiTags('Agents'),
      ApiBearerAuth(),
      ApiOperation({
        summary: 'The agents workers have announced',
        description:
          'Every agent a worker has announced (name, description, input schema as JSON Schema 2020-12), with how ' +
          'many live workers serve it now. A job of an agent with 0 workers waits `queued` (`waiting_for_worker`).',
      }),
      ApiResponse({ status: 200, schema: ref('AgentList') }),
      errorResponse(401, 'no or bad API key'),
    ),
};
