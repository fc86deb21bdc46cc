import { describe, expect, it } from '@jest/globals';
import { AgentDefinitionError, AgentSchemas, inputErrorMessage } from './agent-schemas.js';

const def = (input_schema: Record<string, unknown>, name = 'a1') => ({ name, description: 'd', input_schema });

describe('AgentSchemas', () => {
  it('refuses a schema that does not compile, a bad name or a bad description, saying why', () => {
    const s = new AgentSchemas();
    expect(() => s.check(def({ type: 'object', properties: { x: { type: 'no-such-type' } } }))).toThrow(
      /input_schema is not a valid JSON Schema/,
    );
    expect(() => s.check(def({ type: 'object' }, 'has.dot'))).toThrow(AgentDefinitionError);
    expect(() => s.check({ name: 'a', description: 5 as unknown as string, input_schema: {} })).toThrow(/description/);
    expect(() =>
      s.check({ name: 'a', description: '', input_schema: [] as unknown as Record<string, unknown> }),
    ).toThrow(/JSON Schema object/);
  });

  it('compiles each distinct schema once, and names the failing path of a bad input', () => {
    const s = new AgentSchemas();
    const schema = {
      type: 'object',
      properties: { a: { type: 'object', properties: { b: { type: 'integer', minimum: 1 } } } },
      additionalProperties: false,
    };
    const v = s.check(def(schema));
    expect(s.compile({ ...schema })).toBe(v);
    expect(v({ a: { b: 0 } })).toBe(false);
    expect(inputErrorMessage(v.errors)).toBe('input.a.b: must be >= 1');
    expect(v({ c: 1 })).toBe(false);
    expect(inputErrorMessage(v.errors)).toBe('input.c: unknown property');
  });
});
