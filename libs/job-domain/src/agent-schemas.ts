/**
 * Agent definitions as the catalogue takes them: a name usable in dispatch subjects, a description, and an input
 * schema (JSON Schema draft 2020-12) that compiles with ajv. Compiled validators are cached by the schema's JSON,
 * so the API compiles each announced schema once, not per job.
 */
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { AGENT_NAME_RE, CATALOG_LIMITS, type AgentDefinition } from '@jobstream/job-queue';

/** ajv-formats is CommonJS: its default export arrives as the module object under ESM. */
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (
  ajv: Ajv2020,
) => Ajv2020;

export class AgentDefinitionError extends Error {
  override readonly name = 'AgentDefinitionError';
}

const CACHE_SIZE = 200;

export class AgentSchemas {
  private readonly ajv = new Ajv2020({ allErrors: false, strict: false, validateFormats: true });
  private readonly cache = new Map<string, ValidateFunction>();

  constructor() {
    addFormats(this.ajv);
  }

  /** Throws {@link AgentDefinitionError} saying what is wrong with `def`; else its compiled input validator. */
  check(def: AgentDefinition): ValidateFunction {
    const where = `agent "${String(def?.name).slice(0, 80)}"`;
    if (typeof def?.name !== 'string' || !AGENT_NAME_RE.test(def.name))
      throw new AgentDefinitionError(`${where}: name must be 1–64 letters, digits, _ or -`);
    if (typeof def.description !== 'string' || def.description.length > CATALOG_LIMITS.descriptionChars)
      throw new AgentDefinitionError(
        `${where}: description must be a string of at most ${CATALOG_LIMITS.descriptionChars}`,
      );
    const s = def.input_schema;
    if (s === null || typeof s !== 'object' || Array.isArray(s))
      throw new AgentDefinitionError(`${where}: input_schema must be a JSON Schema object`);
    return this.compile(s, where);
  }

  /** The validator of an announced schema (compiled once per distinct schema). */
  compile(schema: Record<string, unknown>, where = 'agent'): ValidateFunction {
    const key = JSON.stringify(schema);
    const hit = this.cache.get(key);
    if (hit) return hit;
    if (Buffer.byteLength(key) > CATALOG_LIMITS.definitionBytes)
      throw new AgentDefinitionError(`${where}: input_schema is larger than ${CATALOG_LIMITS.definitionBytes} bytes`);
    let fn: ValidateFunction;
    try {
      // `$id`s would collide in ajv's registry across agents: compile without them
      const { $id: _id, ...rest } = schema;
      fn = this.ajv.compile(rest);
    } catch (err) {
      throw new AgentDefinitionError(
        `${where}: input_schema is not a valid JSON Schema (draft 2020-12): ${(err as Error).message}`,
      );
    }
    if (this.cache.size >= CACHE_SIZE) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(key, fn);
    return fn;
  }
}

/** `input.a.b: must be …` — the failing path of the first error. */
export function inputErrorMessage(errors: ErrorObject[] | null | undefined): string {
  const e = errors?.[0];
  if (!e) return 'input is invalid';
  const extra = e.keyword === 'additionalProperties' ? `.${String(e.params.additionalProperty)}` : '';
  const path = `input${e.instancePath.replace(/\//g, '.')}${extra}`;
  return e.keyword === 'additionalProperties' ? `${path}: unknown property` : `${path}: ${e.message ?? 'is invalid'}`;
}

/** One per process (compiled validators are shared). */
export const agentSchemas = new AgentSchemas();
