/** The decorators the endpoint docs (`*.docs.ts`) are written with: operations, bodies and responses by schema name. */
import { ApiBody, ApiHeader, ApiOperation, ApiResponse } from '@nestjs/swagger';
import { ref } from './schema-helpers.js';

export { ref };

/** The operation's summary and, when given, its description. */
export const operation = (summary: string, description?: string) =>
  ApiOperation(description === undefined ? { summary } : { summary, description });

/** A JSON body of the component schema `name`. */
export const body = (name: string, required = true) =>
  ApiBody(required ? { schema: ref(name) } : { schema: ref(name), required: false });

/** A response of the component schema `name`, with a description when given. */
export const returns = (status: number, name: string, description?: string) =>
  ApiResponse(description === undefined ? { status, schema: ref(name) } : { status, description, schema: ref(name) });

/** The optional `Idempotency-Key` header of a create. */
export const idempotencyKey = (description: string) =>
  ApiHeader({ name: 'Idempotency-Key', required: false, description });
