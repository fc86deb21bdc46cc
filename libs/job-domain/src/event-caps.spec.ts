import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { agentEventSchema, type AgentEvent } from '@jobstream/contracts';
import { STAMP_RESERVE_BYTES, capEvent, jsonBytes, splitText } from './event-caps.js';

/** Any UTF-16 string: lone surrogates, pairs, control characters, quotes, backslashes, multi-byte code points. */
const anyUnits = fc.string({
  unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
  maxLength: 400,
});
const anyText = fc.oneof(
  anyUnits,
  fc.string({ unit: 'binary', maxLength: 400 }),
  fc.string({
    unit: fc.constantFrom('a', 'é', '€', '😀', '"', '\\', '\n', '\u0001', '\ud800', '\udc00'),
    maxLength: 400,
  }),
);
const isHigh = (c: number) => c >= 0xd800 && c <= 0xdbff;
const isLow = (c: number) => c >= 0xdc00 && c <= 0xdfff;

describe('splitText', () => {
  it('keeps the text, bounds every piece, never cuts a surrogate pair, and is greedy', () => {
    fc.assert(
      fc.property(anyText, fc.integer({ min: 8, max: 64 }), (text, max) => {
        const pieces = splitText(text, max);
        expect(pieces.join('')).toBe(text);
        for (const [i, p] of pieces.entries()) {
          expect(jsonBytes(p)).toBeLessThanOrEqual(max);
          if (i > 0) expect(p.length).toBeGreaterThan(0);
          const next = pieces[i + 1];
          if (next !== undefined) {
            // a pair stays whole
            expect(isHigh(p.charCodeAt(p.length - 1)) && isLow(next.charCodeAt(0))).toBe(false);
            // greedy: the next code point would not have fitted
            const cp = isHigh(next.charCodeAt(0)) && isLow(next.charCodeAt(1)) ? next.slice(0, 2) : next.slice(0, 1);
            expect(jsonBytes(p + cp)).toBeGreaterThan(max);
          }
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('splits a megabyte of ASCII into pieces of the cap', () => {
    const pieces = splitText('a'.repeat(1_000_000), 256 * 1024);
    expect(pieces.map((p) => p.length)).toEqual([262_142, 262_142, 262_142, 213_574]);
  });
});

describe('capEvent', () => {
  const max = 2048;
  const stored = (e: AgentEvent) =>
    jsonBytes({
      job_id: 'job_01JF00000000000000000000AB',
      seq: 9_999_999,
      ts: new Date().toISOString(),
      attempt: 100,
      ...e,
    });

  it('splits long token and thinking texts into events of the same type, each within the cap once stamped', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('token' as const, 'thinking' as const),
        fc.string({ unit: 'binary', maxLength: 3000 }),
        (type, text) => {
          const r = capEvent({ type, text }, max);
          if (!r.ok) throw new Error('a text event is always accepted');
          expect(r.events.map((e) => (e as { text: string }).text).join('')).toBe(text);
          for (const e of r.events) {
            expect(e.type).toBe(type);
            expect(agentEventSchema.safeParse(e).success).toBe(true);
            expect(stored(e)).toBeLessThanOrEqual(max);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('leaves a short token alone (the same object)', () => {
    const e: AgentEvent = { type: 'token', text: 'hello ' };
    const r = capEvent(e, max);
    expect(r.ok && r.events[0]).toBe(e);
  });

  it('drops the text of a done over the cap and says truncated; refuses other large events', () => {
    const usage = { input_tokens: 1, output_tokens: 2 };
    const r = capEvent({ type: 'done', usage, output: { text: 'x'.repeat(5000), turn: 2 } }, max);
    expect(r).toEqual({ ok: true, events: [{ type: 'done', usage, output: { turn: 2, truncated: true } }] });
    expect(agentEventSchema.safeParse(r.ok && r.events[0]).success).toBe(true);
    const big = capEvent({ type: 'tool_call_end', call_id: 'c1', name: 't', result: { blob: 'y'.repeat(5000) } }, max);
    expect(big.ok).toBe(false);
    expect(!big.ok && big.bytes).toBeGreaterThan(max);
    const err = capEvent({ type: 'error', code: 'x', message: 'm'.repeat(5000), retryable: false, usage }, max);
    expect(err.ok).toBe(false);
    expect(capEvent({ type: 'done', usage, output: { text: 'short' } }, max)).toEqual({
      ok: true,
      events: [{ type: 'done', usage, output: { text: 'short' } }],
    });
    expect(STAMP_RESERVE_BYTES).toBeGreaterThan(
      stored({ type: 'token', text: '' }) - jsonBytes({ type: 'token', text: '' }),
    );
  });
});
