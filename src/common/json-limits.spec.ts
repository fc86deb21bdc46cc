import { describe, expect, it } from '@jest/globals';
import { assertJsonStructure, assertValueStructure, JSON_LIMITS, JsonStructureError } from './json-limits.js';

const ok = (text: string) => expect(() => assertJsonStructure(text)).not.toThrow();
const refused = (text: string, message: RegExp) => {
  let err: unknown;
  try {
    assertJsonStructure(text);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(JsonStructureError);
  expect((err as JsonStructureError).message).toMatch(message);
  expect(err).toMatchObject({ status: 400, expose: true, type: 'entity.structure.invalid' });
};

describe('assertJsonStructure', () => {
  it('accepts ordinary bodies up to the limits', () => {
    ok('{"agent":"echo","input":{"message":"hi [ { not nesting } ]","repeat":2},"metadata":{"a":[1,2,{"b":null}]}}');
    ok('['.repeat(32) + ']'.repeat(32));
    ok(`[${new Array(JSON_LIMITS.maxItems).fill(0).join(',')}]`);
    ok(`{${Array.from({ length: JSON_LIMITS.maxKeys }, (_, i) => `"k${i}":1`).join(',')}}`);
    ok('{"constructor":1,"toString":{"valueOf":[]},"hasOwnProperty":"x","__proto":1,"proto__":2}');
    ok('{"s":"\\"__proto__\\":1"}'); // in a string value, not a key
    ok('{}');
    ok('[]');
    ok('');
  });

  it('refuses nesting deeper than 32, however deep', () => {
    refused('['.repeat(33) + ']'.repeat(33), /deeper than 32/);
    refused('{"a":'.repeat(33) + '1' + '}'.repeat(33), /deeper than 32/);
    refused('['.repeat(200_000), /deeper than 32/);
  });

  it('refuses too many keys, items or values', () => {
    refused(`[${new Array(JSON_LIMITS.maxItems + 1).fill(0).join(',')}]`, /more than 10000 items/);
    refused(
      `{${Array.from({ length: JSON_LIMITS.maxKeys + 1 }, (_, i) => `"k${i}":1`).join(',')}}`,
      /more than 1000 keys/,
    );
    const many = `[${Array.from({ length: 11 }, () => `[${new Array(10_000).fill(0).join(',')}]`).join(',')}]`;
    refused(many, /more than 100000 values/);
  });

  it('refuses a __proto__ key anywhere, escaped or not, but not as a value', () => {
    refused('{"__proto__":{"polluted":true}}', /"__proto__" is not allowed/);
    refused('{"a":[{"b":{"__proto__":1}}]}', /"__proto__"/);
    refused('{"\\u005f_proto__":1}', /"__proto__"/);
    refused('{ "__proto__" : 1}', /"__proto__"/);
    ok('{"a":"__proto__"}');
    ok('["__proto__"]');
  });

  it('checks parsed values the same way, without recursion', () => {
    expect(() => assertValueStructure(JSON.parse('{"__proto__":1}'))).toThrow(JsonStructureError);
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(() => assertValueStructure(deep)).toThrow(/deeper than 32/);
    expect(() => assertValueStructure({ a: [1, 2, { b: 'c' }] })).not.toThrow();
  });
});
