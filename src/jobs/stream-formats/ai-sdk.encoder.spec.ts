import { describe, expect, it } from '@jest/globals';
import { readUIMessageStream, type UIMessageChunk } from 'ai';
import type { AgentEvent, JobEvent } from '@jobstream/contracts';
import { AiSdkEncoder, type UiChunk } from './ai-sdk.encoder.js';

const JOB = 'job_01JX0000000000000000000003';
const stamp = (events: [number, AgentEvent][]): JobEvent[] =>
  events.map(
    ([attempt, e], i) => ({ ...e, job_id: JOB, seq: i + 1, ts: '2026-01-01T00:00:00.000Z', attempt }) as JobEvent,
  );

async function assemble(chunks: UiChunk[], errors: Error[] = []) {
  const stream = new ReadableStream<UIMessageChunk>({
    start(c) {
      for (const ch of chunks) c.enqueue(ch as UIMessageChunk);
      c.close();
    },
  });
  let last;
  for await (const m of readUIMessageStream({ stream, onError: (e) => void errors.push(e as Error) })) last = m;
  return last!;
}

describe('AiSdkEncoder', () => {
  it('keeps parts in the order the job produced them: reasoning, text, a tool, more text', async () => {
    const enc = new AiSdkEncoder(JOB);
    const chunks = stamp([
      [1, { type: 'status', status: 'running' }],
      [1, { type: 'thinking', text: 'hmm' }],
      [1, { type: 'token', text: 'A' }],
      [1, { type: 'token', text: 'B' }],
      [1, { type: 'tool_call_start', call_id: 'c1', name: 'calc', arguments: { x: 1 } }],
      [1, { type: 'tool_call_end', call_id: 'c1', name: 'calc', error: 'boom' }],
      [1, { type: 'token', text: 'C' }],
      [1, { type: 'done', usage: { input_tokens: 1, output_tokens: 3 }, output: { text: 'ABC' } }],
    ]).flatMap((e) => enc.chunks(e));
    expect(chunks.map((c) => c.type)).toEqual([
      'start',
      'data-jobstream',
      'reasoning-start',
      'reasoning-delta',
      'reasoning-end',
      'text-start',
      'text-delta',
      'text-delta',
      'text-end',
      'tool-input-available',
      'tool-output-error',
      'text-start',
      'text-delta',
      'text-end',
      'data-jobstream',
      'finish',
    ]);
    const m = await assemble(chunks);
    expect(m.parts.map((p) => p.type)).toEqual([
      'data-jobstream',
      'reasoning',
      'text',
      'dynamic-tool',
      'text',
      'data-jobstream',
    ]);
    expect(m.parts[3]).toMatchObject({
      toolCallId: 'c1',
      toolName: 'calc',
      state: 'output-error',
      errorText: 'boom',
      input: { x: 1 },
    });
    expect(m.metadata).toEqual({
      job_id: JOB,
      attempt: 1,
      status: 'completed',
      usage: { input_tokens: 1, output_tokens: 3 },
    });
  });

  it('restarts the message on an attempt, and a failed job ends with error then finish and [DONE]', async () => {
    const enc = new AiSdkEncoder(JOB);
    const events = stamp([
      [1, { type: 'token', text: 'old' }],
      [1, { type: 'tool_call_start', call_id: 'c1', name: 'calc', arguments: {} }],
      [2, { type: 'attempt', attempt: 2, reason: 'worker_lost' }],
      [2, { type: 'tool_call_end', call_id: 'c1', name: 'calc', result: 1 }],
      [2, { type: 'token', text: 'new' }],
      [
        2,
        {
          type: 'error',
          code: 'agent_failed',
          message: 'nope',
          retryable: false,
          usage: { input_tokens: 0, output_tokens: 1 },
        },
      ],
    ]);
    const chunks = events.flatMap((e) => enc.chunks(e));
    const errors: Error[] = [];
    const m = await assemble(chunks, errors);
    expect(errors.map((e) => e.message)).toEqual(['agent_failed: nope']);
    expect(m.id).toBe(`${JOB}:2`);
    expect(m.parts.filter((p) => p.type === 'text')).toEqual([expect.objectContaining({ text: 'new', state: 'done' })]);
    // the stale tool output of attempt 1 is shown as data, not as an output for a call this message never saw
    expect(m.parts.some((p) => p.type === 'dynamic-tool')).toBe(false);
    expect(chunks.slice(-2).map((c) => c.type)).toEqual(['error', 'finish']);
    expect(new AiSdkEncoder(JOB).frames(events[5]!).endsWith('data: [DONE]\n\n')).toBe(true);
  });
});
