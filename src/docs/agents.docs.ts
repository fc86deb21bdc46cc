/** OpenAPI decorators of the agent catalogue. */
import { applyDecorators } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { returns } from './doc-helpers.js';
import { errorResponse } from './error-responses.js';

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
      returns(200, 'AgentList'),
      errorResponse(401, 'no or bad API key'),
    ),
};
