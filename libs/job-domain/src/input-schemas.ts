/**
 * The JSON Schemas of `input_required` requests (by kind, or the agent's own) and the validation of answers, with
 * ajv (draft 2020-12): a schema is compiled once, when the agent emits it, and its validator cached by the schema's
 * canonical JSON; sizes are bounded ({@link INPUT_LIMITS}). The rules for agents are in docs/agents.md.
 */
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { InputKind, RequestedToolCall } from '@jobstream/contracts';

/** ajv-formats is CommonJS: its default export arrives as the module object under ESM. */
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (
  ajv: Ajv2020,
) => Ajv2020;

export const INPUT_LIMITS = {
  /** The schema as JSON. */
  schemaBytes: 16 * 1024,
  /** The prompt text (characters). */
  promptChars: 16 * 1024,
  /** Tool calls in one `tool_results` request. */
  toolCalls: 64,
  /** Requests one attempt of a job may make. */
  requestsPerAttempt: 100,
} as const;

export const APPROVAL_SCHEMA: Readonly<Record<string, unknown>> = Object.freeze({
  type: 'object',
  properties: { approved: { type: 'boolean' } },
  required: ['approved'],
});

export const TEXT_SCHEMA: Readonly<Record<string, unknown>> = Object.freeze({
  type: 'object',
  properties: { text: { type: 'string' } },
  required: ['text'],
});

/**
 * The answer to a `tool_results` request: `{ "results": [ { "call_id", "result" } | { "call_id", "error" } ] }`,
 * exactly one entry per requested call (any order).
 */
export function toolResultsSchema(calls: readonly Pick<RequestedToolCall, 'call_id'>[]): Record<string, unknown> {
  const ids = calls.map((c) => c.call_id);
  return {
    type: 'object',
    properties: {
      results: {
        type: 'array',
        minItems: ids.length,
        maxItems: ids.length,
        items: {
          type: 'object',
          properties: { call_id: { enum: ids }, result: true, error: { type: 'string' } },
          required: ['call_id'],
          oneOf: [{ required: ['result'] }, { required: ['error'] }],
          additionalProperties: false,
        },
        allOf: ids.map((id) => ({
          contains: { properties: { call_id: { const: id } } },
          minContains: 1,
          maxContains: 1,
        })),
      },
    },
    required: ['results'],
  };
}

/** The schema a request of this kind ends up with. */
export function schemaFor(
  kind: InputKind,
  given: Record<string, unknown> | undefined,
  calls: readonly RequestedToolCall[],
): Record<string, unknown> {
  if (kind === 'tool_results') return toolResultsSchema(calls);
  if (given) return given;
  return { ...(kind === 'approval' ? APPROVAL_SCHEMA : TEXT_SCHEMA) };
}

/** Canonical JSON (sorted keys): the same value always gives the same text. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

export class InvalidInputSchemaError extends Error {
  override readonly name = 'InvalidInputSchemaError';
}

const CACHE_SIZE = 500;

/** Compiles and caches answer schemas; one per process is enough (see {@link inputSchemas}). */
export class InputSchemas {
  private readonly ajv: Ajv2020;
  private readonly cache = new Map<string, ValidateFunction>();

  constructor() {
    this.ajv = new Ajv2020({ allErrors: false, strict: false, validateFormats: true });
    addFormats(this.ajv);
    // ajv's first compile costs ~90 ms (its code generator warming up): pay it at start, not on a job's first question
    this.compile({ ...APPROVAL_SCHEMA });
    this.compile({ ...TEXT_SCHEMA });
  }

  /** The compiled validator of `schema`; throws {@link InvalidInputSchemaError} naming what is wrong. */
  compile(schema: Record<string, unknown>): ValidateFunction {
    const key = canonicalJson(schema);
    const hit = this.cache.get(key);
    if (hit) {
      // keep recently used ones
      this.cache.delete(key);
      this.cache.set(key, hit);
      return hit;
    }
    if (Buffer.byteLength(key) > INPUT_LIMITS.schemaBytes) {
      throw new InvalidInputSchemaError(`the input schema is larger than ${INPUT_LIMITS.schemaBytes} bytes`);
    }
    let fn: ValidateFunction;
    try {
      // `$id`s would collide in ajv's registry across requests: compile without them
      const { $id: _id, ...rest } = schema;
      fn = this.ajv.compile(rest);
    } catch (err) {
      throw new InvalidInputSchemaError(
        `the input schema is not a valid JSON Schema (draft 2020-12): ${(err as Error).message}`,
      );
    }
    this.cache.set(key, fn);
    if (this.cache.size > CACHE_SIZE) this.cache.delete(this.cache.keys().next().value!);
    return fn;
  }

  /**
   * Checks an answer: null when it satisfies the schema, else a message naming the failing path, e.g.
   * `input/approved: must be boolean`.
   */
  check(schema: Record<string, unknown>, input: unknown): string | null {
    const validate = this.compile(schema);
    if (validate(input)) return null;
    return describeErrors(validate.errors ?? []);
  }
}

function describeErrors(errors: ErrorObject[]): string {
  const e = errors[0];
  if (!e) return 'input does not match the request schema';
  const path = `input${e.instancePath}`;
  let detail = e.message ?? 'is invalid';
  if (e.keyword === 'required')
    detail = `must have property "${String((e.params as { missingProperty?: string }).missingProperty)}"`;
  if (e.keyword === 'additionalProperties') {
    detail = `must not have property "${String((e.params as { additionalProperty?: string }).additionalProperty)}"`;
  }
  if (e.keyword === 'enum')
    detail = `must be one of ${JSON.stringify((e.params as { allowedValues?: unknown }).allowedValues)}`;
  if (e.keyword === 'const')
    detail = `must be ${JSON.stringify((e.params as { allowedValue?: unknown }).allowedValue)}`;
  return `${path}: ${detail}`;
}

/**
 * The friendlier check of a `tool_results` answer, run before the schema: every requested call answered exactly
 * once, no unknown call. Null when fine.
 */
export function checkToolResults(calls: readonly RequestedToolCall[], input: Record<string, unknown>): string | null {
  const results = input['results'];
  if (!Array.isArray(results))
    return 'input/results: must be an array with one { call_id, result } or { call_id, error } per tool call';
  const wanted = new Set(calls.map((c) => c.call_id));
  const seen = new Set<string>();
  for (const [i, r] of results.entries()) {
    const id = r && typeof r === 'object' ? (r as { call_id?: unknown }).call_id : undefined;
    if (typeof id !== 'string') return `input/results/${i}/call_id: must be a string`;
    if (!wanted.has(id))
      return `input/results/${i}/call_id: "${id}" is not one of the requested calls (${[...wanted].join(', ')})`;
    if (seen.has(id)) return `input/results/${i}/call_id: "${id}" is answered twice`;
    seen.add(id);
  }
  const missing = [...wanted].filter((id) => !seen.has(id));
  if (missing.length > 0) return `input/results: no result for call_id ${missing.map((m) => `"${m}"`).join(', ')}`;
  return null;
}

/** One compiler per process: compiled validators are shared by the runner and the API. */
export const inputSchemas = new InputSchemas();
