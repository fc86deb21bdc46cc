/** What the component schema files share: the zod → OpenAPI conversion and references between schemas. */
import { z } from 'zod';

export type Schema = Record<string, unknown>;

export function toOpenApi(schema: z.ZodType, io: 'input' | 'output' = 'output'): Schema {
  const json = z.toJSONSchema(schema, { target: 'openapi-3.0', io, unrepresentable: 'any' }) as Schema;
  delete json.$schema;
  return json;
}

export const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** A tool call as a job's open requests and snapshots list it. */
export const toolCallSchema = (): Schema => ({
  type: 'object',
  required: ['call_id', 'name', 'arguments'],
  properties: { call_id: { type: 'string' }, name: { type: 'string' }, arguments: {} },
});
