/**
 * Generators of hostile input for the fuzz suites (fast-check): values of every wrong JSON type, huge and deeply
 * nested values, unicode edge cases, out-of-range numbers (written as raw JSON text: `1e309`, `-0`, huge ints),
 * names colliding with built-in object members, hostile ids, cursors and header values.
 *
 * Values are built as JS trees that may hold {@link RawJson} leaves; {@link toJsonText} writes them out, so a body
 * can carry number literals that JSON.stringify cannot produce.
 */
import fc from 'fast-check';

/** A piece of JSON text written as is (a number literal JSON.stringify cannot make, a 100 000-deep array …). */
export class RawJson {
  constructor(readonly text: string) {}
}

export type Hostile = null | boolean | number | string | RawJson | Hostile[] | { [k: string]: Hostile };

/** JSON text of a value tree with RawJson leaves (keys written with JSON.stringify, so lone surrogates are escaped). */
export function toJsonText(v: Hostile | undefined): string {
  if (v instanceof RawJson) return v.text;
  if (Array.isArray(v)) return `[${v.map((x) => toJsonText(x)).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.keys(v)
      .map((k) => `${JSON.stringify(k)}:${toJsonText(v[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** Names of built-in object members: every place a name or key is looked up must treat them as plain strings. */
export const BUILTIN_NAMES = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'valueOf',
  'isPrototypeOf',
  'propertyIsEnumerable',
  'toLocaleString',
  '__defineGetter__',
  '__lookupGetter__',
  'toJSON',
  'then',
] as const;

/** Strings that break naive handling: lone surrogates, NUL, RTL override, BOM, line separators, long runs. */
export const UNICODE_EDGES = [
  '\uD800',
  '\uDFFF',
  'a\uD83Db',
  '\uDE00\uD83D',
  '\u0000',
  'a\u0000b',
  '\u202Eevil\u202C',
  '\u200F\u200E',
  '\uFEFF',
  '\u2028\u2029',
  '\u0085',
  'e\u0301\u0301\u0301',
  '🧨💥',
  '\uFFFF\uFFFE',
  '\r\n\r\n',
  '\t',
  '%00',
  '%',
  '%zz',
  '../../etc/passwd',
  '<script>alert(1)</script>',
  "' OR 1=1 --",
  '${7*7}',
  '{{7*7}}',
];

/** Number-ish strings (query values, ids, header values). */
export const NUMBERISH_STRINGS = [
  'NaN',
  'Infinity',
  '-Infinity',
  '-0',
  '0',
  '-1',
  '1e309',
  '1e3',
  '1.5',
  '0x10',
  '0b1',
  '+1',
  ' 1',
  '1 ',
  '9007199254740993',
  '99999999999999999999999999',
  '٣',
  '1_000',
  '',
  'null',
  'undefined',
  'true',
];

/** Number literals as raw JSON text (some not producible by JSON.stringify). */
export const RAW_NUMBERS = [
  '1e309',
  '-1e309',
  '-0',
  '0',
  '-1',
  '0.5',
  '1e-400',
  '9007199254740993',
  '123456789012345678901234567890',
  '1.7976931348623157e308',
  '5e-324',
  '2147483648',
  '4294967296',
  '100001',
  '1e6',
];

export const builtinName = fc.constantFrom(...BUILTIN_NAMES);

/** Any UTF-16 string, lone surrogates included. */
export const anyUtf16 = fc.string({
  unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
  maxLength: 40,
});

export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...UNICODE_EDGES) },
  { weight: 3, arbitrary: builtinName },
  { weight: 2, arbitrary: fc.constantFrom(...NUMBERISH_STRINGS) },
  { weight: 2, arbitrary: anyUtf16 },
  { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
  { weight: 1, arbitrary: fc.constantFrom(1_000, 70_000, 300_000).map((n) => 'x'.repeat(n)) },
  { weight: 1, arbitrary: fc.constantFrom('echo', 'openai') },
);

/** Nesting far past any sane depth, as raw JSON text (arrays or objects). */
export const deepNesting = fc
  .tuple(fc.constantFrom(31, 32, 33, 64, 1_000, 20_000, 200_000), fc.boolean(), fc.constantFrom(...BUILTIN_NAMES, 'a'))
  .map(([depth, arrays, key]) =>
    arrays
      ? new RawJson('['.repeat(depth) + ']'.repeat(depth))
      : new RawJson(`{${JSON.stringify(key)}:`.repeat(depth) + '1' + '}'.repeat(depth)),
  );

/** Very wide values: many items or many keys. */
const WIDE_VALUES = [1_001, 5_000, 20_000, 100_000].flatMap((n) => [
  new RawJson(`[${new Array(n).fill('0').join(',')}]`),
  new RawJson(`{${Array.from({ length: n }, (_, i) => `"k${i}":0`).join(',')}}`),
]);
export const wideValue = fc.constantFrom(...WIDE_VALUES);

const leaf: fc.Arbitrary<Hostile> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.constantFrom(...RAW_NUMBERS).map((t) => new RawJson(t)),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  hostileString,
);

/** An object whose keys are hostile (built-in member names, unicode edges, duplicates written twice). */
const hostileObject = (value: fc.Arbitrary<Hostile>): fc.Arbitrary<Hostile> =>
  fc.oneof(
    fc.dictionary(fc.oneof(builtinName, hostileString, fc.string({ maxLength: 8 })), value, { maxKeys: 6 }),
    // a key given twice (JSON.parse keeps the last)
    fc
      .tuple(builtinName, value, value)
      .map(([k, a, b]) => new RawJson(`{${JSON.stringify(k)}:${toJsonText(a)},${JSON.stringify(k)}:${toJsonText(b)}}`)),
  );

/** Any hostile JSON value, a few levels deep. */
export const hostileValue: fc.Arbitrary<Hostile> = fc.letrec<{ v: Hostile }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { weight: 6, arbitrary: leaf },
    { weight: 2, arbitrary: fc.array(tie('v'), { maxLength: 4 }) },
    { weight: 2, arbitrary: hostileObject(tie('v')) },
    { weight: 1, arbitrary: deepNesting },
    { weight: 1, arbitrary: wideValue },
  ),
})).v;

/** Hostile ids for `:id` path parameters, as they go into the URL path (already percent-encoded where needed). */
export const hostileIdSegment = fc.oneof(
  builtinName,
  fc.constantFrom(
    'job_',
    'job_00000000000000000000000000',
    'job_0000000000000000000000000I',
    'JOB_01J0000000000000000000000',
    '%00',
    '%FF',
    '%C0%80',
    '%ED%A0%80', // an encoded lone surrogate
    '%E2%80%AE', // RTL override
    '%2e%2e',
    '..',
    '%2F',
    '%',
    '%zz',
    'a%20b',
    "'",
    '%22',
  ),
  fc
    .constantFrom(...NUMBERISH_STRINGS)
    .filter((s) => s !== '' && !s.includes(' '))
    .map((s) => encodeURIComponent(s)),
  fc.constantFrom(300, 20_000).map((n) => 'j'.repeat(n)),
  anyUtf16.filter((s) => s.length > 0).map(encodeUtf8Loose),
);

/**
 * Percent-encodes a string's UTF-8 as a client would (unreserved characters as they are; lone surrogates become
 * U+FFFD), so a token sent in a query goes out readable, exactly as it would reach a log.
 */
export function encodeUtf8Loose(s: string): string {
  return [...Buffer.from(s, 'utf8')]
    .map((b) =>
      /[A-Za-z0-9\-._~]/.test(String.fromCharCode(b))
        ? String.fromCharCode(b)
        : '%' + b.toString(16).toUpperCase().padStart(2, '0'),
    )
    .join('');
}

/** Cursors: malformed, foreign-looking, out of range, huge. */
export const hostileCursor = fc.oneof(
  fc.constantFrom(...NUMBERISH_STRINGS),
  fc.constantFrom(
    '1-1-aaaaaa',
    '0-0-000000',
    '999999999999999-999999999999999-zzzzzz',
    '9999999999999999-1-aaaaaa',
    '1-1-',
    '--',
    '1--1',
    '-1-1-aaaaaa',
  ),
  builtinName,
  hostileString,
  fc.tuple(fc.nat(), fc.nat(), fc.stringMatching(/^[0-9a-z]{6}$/)).map(([a, b, t]) => `${a}-${b}-${t}`),
);

/** Values for a header (no CR/LF/NUL: Node's client refuses to send those; protocol tests send them raw). */
export const hostileHeaderValue = fc.oneof(
  fc.constantFrom(...NUMBERISH_STRINGS.filter((s) => /^[\x20-\xff]*$/.test(s))),
  builtinName,
  fc.constantFrom(
    '\t',
    ' ',
    'a'.repeat(256),
    'a'.repeat(4_000),
    'é',
    'ÿ\u0080',
    'Bearer',
    'Bearer ',
    'Bearer  x y',
    'Basic YTpi',
  ),
  fc.string({
    unit: fc
      .integer({ min: 0x20, max: 0xff })
      .filter((c) => c !== 0x7f)
      .map((c) => String.fromCharCode(c)),
    maxLength: 40,
  }),
);
