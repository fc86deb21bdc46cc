import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { AgentEvent } from '@jobstream/contracts';
import { TextRun, coalesceTextEvents, isTextEvent } from './coalesce.js';
import { mergedOutputDedupId } from './dedup-ids.js';
import { STAMP_RESERVE_BYTES, jsonBytes } from './event-caps.js';

const tok = (text: string): AgentEvent => ({ type: 'token', text });
const think = (text: string): AgentEvent => ({ type: 'thinking', text });
const tool: AgentEvent = { type: 'tool_call_start', call_id: 'c', name: 'n', arguments: {} };
const done: AgentEvent = { type: 'done', usage: { input_tokens: 0, output_tokens: 0 }, output: {} };

/** Texts with every JSON escape and UTF-8 width, lone surrogates included. */
const text = fc.string({
  unit: fc.constantFrom('a', 'b', ' ', 'é', '€', '😀', '"', '\\', '\n', '\u0001', '\ud800', '\udc00'),
  maxLength: 40,
});
const event: fc.Arbitrary<AgentEvent> = fc.oneof(
  { weight: 6, arbitrary: text.map(tok) },
  { weight: 3, arbitrary: text.map(think) },
  { weight: 1, arbitrary: fc.constant(tool) },
);
/** The text of each maximal run of one type, in order (what a client assembles, type by type). */
const runs = (events: readonly AgentEvent[]) => {
  const out: { type: string; text: string }[] = [];
  for (const e of events) {
    const t = isTextEvent(e) ? e.text : null;
    const last = out.at(-1);
    if (t !== null && last?.type === e.type) last.text += t;
    else out.push({ type: e.type, text: t ?? JSON.stringify(e) });
  }
  return out;
};

describe('coalesceTextEvents', () => {
  it('merges consecutive texts of one type and keeps everything else, in order', () => {
    const events = [tok('a'), tok('b'), think('x'), think('y'), tok('c'), tool, tok('d'), done];
    const out = coalesceTextEvents(events, 64 * 1024);
    expect(out).toEqual([
      { event: tok('ab'), first: 0, count: 2 },
      { event: think('xy'), first: 2, count: 2 },
      { event: tok('c'), first: 4, count: 1 },
      { event: tool, first: 5, count: 1 },
      { event: tok('d'), first: 6, count: 1 },
      { event: done, first: 7, count: 1 },
    ]);
  });

  it('starts a new event where the merged one would pass the cap; a text over the cap stays alone', () => {
    const max = 1024;
    const unit = 'x'.repeat(300);
    const out = coalesceTextEvents([tok(unit), tok(unit), tok(unit), tok('y'.repeat(2000)), tok('z')], max);
    expect(out.map((g) => g.count)).toEqual([2, 1, 1, 1]);
    expect(out[0]!.event).toEqual(tok(unit + unit));
    expect(out[2]!.event).toEqual(tok('y'.repeat(2000))); // the size caps split it later
  });

  it('is deterministic: the same batch gives the same groups (and so the same dedup ids)', () => {
    const events = [tok('a'), tok('b'), tool, tok('c')];
    expect(coalesceTextEvents(events, 4096)).toEqual(coalesceTextEvents(events, 4096));
    expect(mergedOutputDedupId('j:1:4', 1)).toBe('j:1:4');
    expect(mergedOutputDedupId('j:1:4', 3)).toBe('j:1:4+2');
  });

  it('property: text and order preserved, types kept, no merged event over the cap, groups cover the input', () => {
    fc.assert(
      fc.property(fc.array(event, { maxLength: 80 }), fc.integer({ min: 300, max: 2000 }), (events, max) => {
        const out = coalesceTextEvents(events, max);
        expect(runs(out.map((g) => g.event))).toEqual(runs(events));
        let next = 0;
        for (const g of out) {
          expect(g.first).toBe(next);
          next += g.count;
          const members = events.slice(g.first, g.first + g.count);
          expect(members.every((e) => e.type === g.event.type)).toBe(true);
          if (g.count > 1) {
            expect(jsonBytes(g.event) + STAMP_RESERVE_BYTES).toBeLessThanOrEqual(max);
            expect(isTextEvent(g.event) && g.event.text).toBe(
              members.map((e) => (e as { text: string }).text).join(''),
            );
          } else expect(g.event).toBe(members[0]);
        }
        expect(next).toBe(events.length);
      }),
    );
  });
});

describe('TextRun', () => {
  it('takes only texts of its own type, within the cap', () => {
    const run = TextRun.start(tok('a'))!;
    expect(TextRun.start(tool)).toBeNull();
    expect(run.tryAdd(think('b'), 4096)).toBe(false);
    expect(run.tryAdd(tool, 4096)).toBe(false);
    expect(run.tryAdd(tok('b'), 4096)).toBe(true);
    expect(run.tryAdd(tok('c'.repeat(5000)), 4096)).toBe(false);
    expect(run.count).toBe(2);
    expect(run.event()).toEqual(tok('ab'));
    expect(run.bytes).toBeGreaterThanOrEqual(jsonBytes(tok('ab')) + STAMP_RESERVE_BYTES);
  });
});
