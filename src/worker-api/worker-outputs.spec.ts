import { describe, expect, it } from '@jest/globals';
import { OutputRefused, checkOutputs, coalesceOutputs } from './worker-outputs.js';

const MAX = 256 * 1024;
const refusal = (body: unknown): { status: number; message: string } => {
  try {
    checkOutputs(body, MAX);
  } catch (err) {
    if (err instanceof OutputRefused) return { status: err.status, message: err.message };
    throw err;
  }
  throw new Error('accepted');
};

describe('checkOutputs (an HTTP worker batch, before anything is appended)', () => {
  it('accepts what a TypeScript agent yields; a question may leave its request_id to the platform', () => {
    const out = checkOutputs(
      [
        { type: 'token', text: 'a' },
        { type: 'thinking', text: 'b' },
        { type: 'tool_call_start', call_id: 'c', name: 'n', arguments: {} },
        { type: 'tool_call_end', call_id: 'c', name: 'n', result: 1 },
        { type: 'input_required', kind: 'approval', prompt: 'ok?' },
      ],
      MAX,
    );
    expect(out).toHaveLength(5);
    expect(out[4]).toEqual({ question: { type: 'input_required', kind: 'approval', prompt: 'ok?' } });
  });

  it('refuses with the failing path: shapes, platform types, order, size, count', () => {
    expect(refusal({})).toMatchObject({ status: 400, message: expect.stringMatching(/JSON array/) });
    expect(refusal([])).toMatchObject({ status: 400 });
    expect(refusal([{ type: 'token', text: 'ok' }, { type: 'token' }]).message).toMatch(/^\[1\]\.text/);
    expect(refusal([{ type: 'status', status: 'running' }]).message).toMatch(/^\[0\]\.type: must be one of/);
    expect(refusal([{ type: 'input_received', request_id: 'r', input: {} }]).message).toMatch(/^\[0\]\.type/);
    expect(refusal([{ type: 'token', text: 'a', extra: 1 }]).message).toMatch(/^\[0\]/);
    expect(
      refusal([
        { type: 'done', usage: { input_tokens: 0, output_tokens: 0 }, output: {} },
        { type: 'token', text: 'a' },
      ]).message,
    ).toMatch(/^\[0\]: a done ends the lease/);
    expect(refusal([{ type: 'input_required', prompt: 'no kind' }]).message).toMatch(/^\[0\]\.kind/);
    expect(refusal([{ type: 'input_required', kind: 'text', prompt: 'x', expires_at: 'later' }]).message).toMatch(
      /^\[0\]/,
    );
    const big = { type: 'tool_call_end', call_id: 'c', name: 'n', result: 'x'.repeat(MAX) };
    expect(refusal([{ type: 'token', text: 'a' }, big])).toMatchObject({
      status: 413,
      message: expect.stringMatching(/^\[1\]/),
    });
    expect(refusal(Array.from({ length: 1001 }, () => ({ type: 'token', text: 'a' })))).toMatchObject({ status: 413 });
  });

  it('lets long texts through (the caps split them) and a done whose text is too long (it is slimmed)', () => {
    const long = 'y'.repeat(MAX * 2);
    expect(checkOutputs([{ type: 'token', text: long }], MAX)).toHaveLength(1);
    expect(
      checkOutputs([{ type: 'done', usage: { input_tokens: 0, output_tokens: 1 }, output: { text: long } }], MAX),
    ).toHaveLength(1);
  });
});

describe('coalesceOutputs (what a checked batch appends)', () => {
  const batch = checkOutputs(
    [
      { type: 'token', text: 'a' },
      { type: 'token', text: 'b' },
      { type: 'tool_call_start', call_id: 'c', name: 'n', arguments: {} },
      { type: 'thinking', text: 'x' },
      { type: 'thinking', text: 'y' },
      { type: 'input_required', kind: 'approval', prompt: 'ok?' },
    ],
    MAX,
  );

  it('merges consecutive texts of one type, keeping each first index (its dedup id) and the question last', () => {
    const items = coalesceOutputs(batch, MAX, true);
    expect(items.map((i) => [i.first, i.count])).toEqual([
      [0, 2],
      [2, 1],
      [3, 2],
      [5, 1],
    ]);
    expect(items[0]!.o).toEqual({ event: { type: 'token', text: 'ab' } });
    expect(items[2]!.o).toEqual({ event: { type: 'thinking', text: 'xy' } });
    expect(items[3]!.o).toEqual(batch[5]);
    expect(coalesceOutputs(batch, MAX, true)).toEqual(items); // the same batch, the same merge
  });

  it('off: one item per output', () => {
    expect(coalesceOutputs(batch, MAX, false).map((i) => [i.first, i.count])).toEqual(batch.map((_, i) => [i, 1]));
  });
});
