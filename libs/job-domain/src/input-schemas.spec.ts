import { describe, expect, it } from '@jest/globals';
import {
  APPROVAL_SCHEMA,
  InputSchemas,
  InvalidInputSchemaError,
  canonicalJson,
  checkToolResults,
  schemaFor,
  toolResultsSchema,
} from './input-schemas.js';

describe('input schemas (ajv, draft 2020-12)', () => {
  const s = new InputSchemas();

  it('checks answers and names the failing path', () => {
    expect(s.check(APPROVAL_SCHEMA as Record<string, unknown>, { approved: true })).toBeNull();
    expect(s.check(APPROVAL_SCHEMA as Record<string, unknown>, { approved: 'yes' })).toBe(
      'input/approved: must be boolean',
    );
    expect(s.check(APPROVAL_SCHEMA as Record<string, unknown>, {})).toBe('input: must have property "approved"');
    const nested = {
      type: 'object',
      properties: { a: { type: 'object', properties: { b: { type: 'array', items: { type: 'integer' } } } } },
    };
    expect(s.check(nested, { a: { b: [1, 'x'] } })).toBe('input/a/b/1: must be integer');
    expect(
      s.check({ type: 'object', properties: { when: { type: 'string', format: 'date-time' } } }, { when: 'soon' }),
    ).toMatch(/^input\/when: must match format "date-time"/);
    expect(s.check({ type: 'object', properties: { c: { enum: ['eu', 'us'] } } }, { c: 'mars' })).toBe(
      'input/c: must be one of ["eu","us"]',
    );
  });

  it('refuses a schema that does not compile, or one that is too large', () => {
    expect(() => s.compile({ type: 'no-such-type' })).toThrow(InvalidInputSchemaError);
    expect(() => s.compile({ type: 'object', properties: { x: { $ref: '#/nowhere' } } })).toThrow(
      /not a valid JSON Schema/,
    );
    expect(() => s.compile({ type: 'object', description: 'x'.repeat(20_000) })).toThrow(/larger than/);
  });

  it('compiles a schema once (cached by its canonical JSON; $id does not collide)', () => {
    const a = s.compile({ $id: 'same', type: 'object', properties: { x: { type: 'string' } } });
    const b = s.compile({ properties: { x: { type: 'string' } }, type: 'object', $id: 'same' });
    expect(a).toBe(b);
    expect(() => s.compile({ $id: 'same', type: 'object', properties: { y: { type: 'number' } } })).not.toThrow();
  });

  it('the tool_results schema wants exactly one result or error per call', () => {
    const calls = [
      { call_id: 'a', name: 'f', arguments: {} },
      { call_id: 'b', name: 'g', arguments: {} },
    ];
    const schema = toolResultsSchema(calls);
    expect(
      s.check(schema, {
        results: [
          { call_id: 'b', error: 'no' },
          { call_id: 'a', result: { x: 1 } },
        ],
      }),
    ).toBeNull();
    expect(
      s.check(schema, {
        results: [
          { call_id: 'a', result: 1 },
          { call_id: 'a', result: 2 },
        ],
      }),
    ).not.toBeNull();
    expect(
      s.check(schema, {
        results: [
          { call_id: 'a', result: 1, error: 'x' },
          { call_id: 'b', result: 2 },
        ],
      }),
    ).not.toBeNull();
    expect(s.check(schema, { results: [{ call_id: 'a' }, { call_id: 'b', result: 2 }] })).not.toBeNull();
    expect(checkToolResults(calls, { results: [{ call_id: 'a', result: 1 }] })).toBe(
      'input/results: no result for call_id "b"',
    );
    expect(
      checkToolResults(calls, {
        results: [
          { call_id: 'a', result: 1 },
          { call_id: 'a', result: 1 },
        ],
      }),
    ).toBe('input/results/1/call_id: "a" is answered twice');
    expect(checkToolResults(calls, { results: [{ call_id: 'z' }] })).toMatch(
      /^input\/results\/0\/call_id: "z" is not one of the requested calls/,
    );
    expect(checkToolResults(calls, {})).toMatch(/^input\/results: must be an array/);
    expect(schemaFor('tool_results', { type: 'object' }, calls)).toEqual(schema); // an agent's own schema is ignored here
    expect(schemaFor('approval', undefined, [])).toEqual(APPROVAL_SCHEMA);
    expect(schemaFor('text', undefined, [])).toMatchObject({ required: ['text'] });
  });

  it('canonical JSON ignores key order', () => {
    expect(canonicalJson({ b: 1, a: [{ y: 2, x: 1 }] })).toBe(canonicalJson({ a: [{ x: 1, y: 2 }], b: 1 }));
    expect(canonicalJson({ a: 1 })).not.toBe(canonicalJson({ a: '1' }));
  });
});
