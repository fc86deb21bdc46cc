/**
 * Structural limits of every JSON body, checked ONCE at the edge on the raw bytes, before `JSON.parse` and before
 * any validation or copying code (zod, canonical fingerprints, stores) walks the value: a bounded nesting depth,
 * bounded keys per object and items per array, a bounded number of values in all, and no `__proto__` key (which
 * would turn into a prototype change in any code that copies the object with plain assignment).
 *
 * One linear pass over the bytes, no recursion, no allocation per value: a 1 MiB body costs about a millisecond,
 * and a 200 000-deep `[[[[…` is refused at byte 33 instead of blowing a recursive walker's stack later.
 */

export interface JsonLimits {
  /** Deepest nesting of objects and arrays (the top-level value is depth 1). */
  maxDepth: number;
  /** Most keys in one object. */
  maxKeys: number;
  /** Most items in one array. */
  maxItems: number;
  /** Most values (object members and array items) in the whole body. */
  maxValues: number;
}

export const JSON_LIMITS: Readonly<JsonLimits> = Object.freeze({
  maxDepth: 32,
  maxKeys: 1_000,
  maxItems: 10_000,
  maxValues: 100_000,
});

/** Names a JSON key may not have anywhere in a body. */
const FORBIDDEN_KEYS = new Set(['__proto__']);

/** A body that breaks a structural limit: a 400 `invalid_request` (body-parser's http-errors shape). */
export class JsonStructureError extends Error {
  override readonly name = 'JsonStructureError';
  expose = true;
  statusCode: number;
  constructor(
    message: string,
    public status = 400,
    readonly type = 'entity.structure.invalid',
  ) {
    super(message);
    this.statusCode = status;
  }
}

const OPEN_OBJ = 0x7b; // {
const CLOSE_OBJ = 0x7d; // }
const OPEN_ARR = 0x5b; // [
const CLOSE_ARR = 0x5d; // ]
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;

function isSpace(b: number): boolean {
  return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
}

/**
 * Throws {@link JsonStructureError} when the JSON text in `buf` (UTF-8) breaks a limit. Malformed JSON is left to
 * the parser (this pass only counts brackets outside strings), so its error stays "malformed JSON body".
 */
export function assertJsonStructure(buf: Uint8Array | string, limits: JsonLimits = JSON_LIMITS): void {
  const bytes = typeof buf === 'string' ? Buffer.from(buf, 'utf8') : buf;
  // per open container: is it an object, members so far (commas + 1 once a value started)
  const isObj: boolean[] = [];
  const count: number[] = [];
  const started: boolean[] = [];
  let depth = 0;
  let values = 0;
  let inString = false;
  let stringStart = -1;
  /** End of the last string seen outside a string (a key when a ':' follows). */
  let lastStringStart = -1;
  let lastStringEnd = -1;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (inString) {
      if (b === BACKSLASH) i++;
      else if (b === QUOTE) {
        inString = false;
        lastStringStart = stringStart;
        lastStringEnd = i + 1;
      }
      continue;
    }
    if (isSpace(b)) continue;
    if (depth > 0 && !started[depth - 1] && b !== CLOSE_OBJ && b !== CLOSE_ARR) {
      started[depth - 1] = true;
      count[depth - 1] = 1;
      if (++values > limits.maxValues)
        throw new JsonStructureError(`the JSON body has more than ${limits.maxValues} values`);
    }
    switch (b) {
      case QUOTE:
        inString = true;
        stringStart = i;
        break;
      case OPEN_OBJ:
      case OPEN_ARR:
        if (depth >= limits.maxDepth)
          throw new JsonStructureError(`JSON nesting is deeper than ${limits.maxDepth} levels`);
        isObj[depth] = b === OPEN_OBJ;
        count[depth] = 0;
        started[depth] = false;
        depth++;
        break;
      case CLOSE_OBJ:
      case CLOSE_ARR:
        if (depth > 0) depth--;
        break;
      case COMMA:
        if (depth > 0) {
          const n = ++count[depth - 1]!;
          const max = isObj[depth - 1] ? limits.maxKeys : limits.maxItems;
          if (n > max) {
            throw new JsonStructureError(
              isObj[depth - 1] ? `a JSON object has more than ${max} keys` : `a JSON array has more than ${max} items`,
            );
          }
          if (++values > limits.maxValues)
            throw new JsonStructureError(`the JSON body has more than ${limits.maxValues} values`);
        }
        break;
      case COLON:
        // the string just before is a key: refuse the names that would change an object's prototype
        if (lastStringEnd > 0 && lastStringEnd - lastStringStart <= 64) {
          const key = keyText(bytes, lastStringStart, lastStringEnd);
          if (key !== null && FORBIDDEN_KEYS.has(key))
            throw new JsonStructureError(`the JSON key "${key}" is not allowed`);
        }
        break;
      default:
        break;
    }
  }
}

function keyText(bytes: Uint8Array, start: number, end: number): string | null {
  try {
    const v: unknown = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString('utf8'));
    return typeof v === 'string' ? v : null;
  } catch {
    return null;
  }
}

/** Same check on a parsed value (for values that did not come from text, e.g. tests); iterative, never recursive. */
export function assertValueStructure(value: unknown, limits: JsonLimits = JSON_LIMITS): void {
  const stack: [unknown, number][] = [[value, 1]];
  let values = 0;
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth > limits.maxDepth) throw new JsonStructureError(`JSON nesting is deeper than ${limits.maxDepth} levels`);
    const children = Array.isArray(v)
      ? v
      : Object.keys(v).map((k) => {
          if (FORBIDDEN_KEYS.has(k)) throw new JsonStructureError(`the JSON key "${k}" is not allowed`);
          return (v as Record<string, unknown>)[k];
        });
    const max = Array.isArray(v) ? limits.maxItems : limits.maxKeys;
    if (children.length > max)
      throw new JsonStructureError(
        Array.isArray(v) ? `a JSON array has more than ${max} items` : `a JSON object has more than ${max} keys`,
      );
    values += children.length;
    if (values > limits.maxValues)
      throw new JsonStructureError(`the JSON body has more than ${limits.maxValues} values`);
    for (const c of children) stack.push([c, depth + 1]);
  }
}
