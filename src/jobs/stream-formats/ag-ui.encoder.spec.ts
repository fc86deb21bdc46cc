import { describe, expect, it } from '@jest/globals';
import { EventSchema } from '@ag-ui/core/schemas';
import type { AgentEvent, JobEvent } from '@jobstream/contracts';
import { cursorOf, type LoggedEvent } from '@jobstream/event-log';
import { AgUiEncoder, type AgUiEvent } from './ag-ui.encoder.js';
import { agUiRender, parseAgUiCursor } from './ag-ui.render.js';

const JOB = 'job_01JX0000000000000000000007';
const logged = (events: [number, AgentEvent][]): LoggedEvent[] =>
  events.map(([attempt, e], i) => ({
    event: { ...e, job_id: JOB, seq: i + 1, ts: '2026-01-01T00:00:00.000Z', attempt } as JobEvent,
    pos: 100 + i,
  }));
const encoder = () => new AgUiEncoder(JOB, { threadId: 'th-1', runId: 'run-1' });
const all = (evs: LoggedEvent[], enc = encoder()): AgUiEvent[] => evs.flatMap((e) => enc.events(e.event));
const usage = { input_tokens: 2, output_tokens: 3 };
/** Every event must pass @ag-ui/core's own schema unchanged (its objects are closed: no extra field passes). */
const valid = (events: AgUiEvent[]) => {
  for (const e of events) expect(EventSchema.parse(e)).toEqual(e);
  return events.map((e) => e.type);
};

const approvalJob = logged([
  [1, { type: 'status', status: 'queued' }],
  [1, { type: 'status', status: 'running' }],
  [1, { type: 'thinking', text: 'hmm' }],
  [1, { type: 'token', text: 'Send ' }],
  [1, { type: 'token', text: 'it ' }],
  [
    1,
    {
      type: 'input_required',
      request_id: 'req_1',
      kind: 'approval',
      prompt: 'Send it?',
      schema: { type: 'object', properties: { approved: { type: 'boolean' } }, required: ['approved'] },
      expires_at: '2026-01-02T00:00:00.000Z',
    },
  ],
  [1, { type: 'status', status: 'waiting_for_input' }],
  [1, { type: 'input_received', request_id: 'req_1', input: { approved: true } }],
  [1, { type: 'status', status: 'queued' }],
  [1, { type: 'token', text: 'now.' }],
  [1, { type: 'done', usage, output: { text: 'Send it now.' } }],
]);

describe('AgUiEncoder', () => {
  it('maps a job with a question to two runs: an interrupt, then the rest; every event passes @ag-ui/core', () => {
    const events = all(approvalJob);
    expect(valid(events)).toEqual([
      'RUN_STARTED',
      'REASONING_START',
      'REASONING_MESSAGE_START',
      'REASONING_MESSAGE_CONTENT',
      'REASONING_MESSAGE_END',
      'REASONING_END',
      'TEXT_MESSAGE_START',
      'TEXT_MESSAGE_CONTENT',
      'TEXT_MESSAGE_CONTENT',
      'TEXT_MESSAGE_END',
      'RUN_FINISHED',
      'RUN_STARTED',
      'TEXT_MESSAGE_START',
      'TEXT_MESSAGE_CONTENT',
      'TEXT_MESSAGE_END',
      'RUN_FINISHED',
    ]);
    expect(events[0]).toMatchObject({ threadId: 'th-1', runId: 'run-1' });
    expect(events[10]).toMatchObject({
      runId: 'run-1',
      outcome: {
        type: 'interrupt',
        interrupts: [
          {
            id: 'req_1',
            reason: 'approval',
            message: 'Send it?',
            responseSchema: { required: ['approved'] },
            expiresAt: '2026-01-02T00:00:00.000Z',
          },
        ],
      },
    });
    expect(events[11]).toMatchObject({ type: 'RUN_STARTED', runId: 'run-1.1' });
    expect(events[15]).toMatchObject({
      runId: 'run-1.1',
      outcome: { type: 'success' },
      result: { text: 'Send it now.' },
      usage: [{ inputTokens: 2, outputTokens: 3, totalTokens: 5 }],
    });
  });

  it('client-side tools: the run ends with the call pending; its result is not repeated (the client holds it)', () => {
    const events = all(
      logged([
        [1, { type: 'status', status: 'running' }],
        [1, { type: 'tool_call_start', call_id: 'c1', name: 'read_file', arguments: { message_length: 4 } }],
        [
          1,
          {
            type: 'input_required',
            request_id: 'req_2',
            kind: 'tool_results',
            prompt: '',
            tool_calls: [{ call_id: 'c1', name: 'read_file', arguments: { message_length: 4 } }],
          },
        ],
        [1, { type: 'input_received', request_id: 'req_2', input: { results: [{ call_id: 'c1', result: 'x' }] } }],
        [1, { type: 'tool_call_end', call_id: 'c1', name: 'read_file', result: 'x' }],
        [1, { type: 'tool_call_start', call_id: 'c2', name: 'calc', arguments: {} }],
        [1, { type: 'tool_call_end', call_id: 'c2', name: 'calc', error: 'boom' }],
        [1, { type: 'token', text: 'Done' }],
        [1, { type: 'done', usage, output: { text: 'Done' } }],
      ]),
    );
    expect(valid(events)).toEqual([
      'RUN_STARTED',
      'TOOL_CALL_START',
      'TOOL_CALL_ARGS',
      'TOOL_CALL_END',
      'RUN_FINISHED',
      'RUN_STARTED',
      'TOOL_CALL_START',
      'TOOL_CALL_ARGS',
      'TOOL_CALL_END',
      'TOOL_CALL_RESULT',
      'TEXT_MESSAGE_START',
      'TEXT_MESSAGE_CONTENT',
      'TEXT_MESSAGE_END',
      'RUN_FINISHED',
    ]);
    expect(events[2]).toMatchObject({ delta: '{"message_length":4}' });
    expect(events[4]).toMatchObject({ outcome: { type: 'success', pendingToolCallIds: ['c1'] } });
    expect(events[9]).toMatchObject({ toolCallId: 'c2', content: '{"error":"boom"}', role: 'tool' });
  });

  it('an attempt ends open messages, says so, and names the new messages apart; error and cancel ⇒ RUN_ERROR', () => {
    const events = all(
      logged([
        [1, { type: 'token', text: 'a' }],
        [2, { type: 'attempt', attempt: 2, reason: 'worker_lost' }],
        [2, { type: 'token', text: 'b' }],
        [2, { type: 'error', code: 'agent_failed', message: 'boom', retryable: false, usage }],
        [2, { type: 'token', text: 'ignored after the end' }],
      ]),
    );
    expect(valid(events)).toEqual([
      'RUN_STARTED',
      'TEXT_MESSAGE_START',
      'TEXT_MESSAGE_CONTENT',
      'TEXT_MESSAGE_END',
      'CUSTOM',
      'TEXT_MESSAGE_START',
      'TEXT_MESSAGE_CONTENT',
      'TEXT_MESSAGE_END',
      'RUN_ERROR',
    ]);
    expect(events[1]).toMatchObject({ messageId: `${JOB}:1:m1` });
    expect(events[5]).toMatchObject({ messageId: `${JOB}:2:m2` });
    expect(events[4]).toMatchObject({ name: 'jobstream.attempt', value: { attempt: 2, reason: 'worker_lost' } });
    expect(events[8]).toMatchObject({ code: 'agent_failed', message: 'boom' });
    const cancelled = all(logged([[1, { type: 'cancelled', reason: 'rejected', usage }]]));
    expect(valid(cancelled)).toEqual(['RUN_STARTED', 'RUN_ERROR']);
    expect(cancelled[1]).toMatchObject({ code: 'cancelled', message: 'cancelled: rejected' });
  });
});

describe('agUiRender', () => {
  const frames = (evs: LoggedEvent[], raw?: string, w = {}) => {
    const c = parseAgUiCursor(raw);
    const at = c ? evs.find((e) => cursorOf(e) === c.base)!.event : null;
    const r = agUiRender(encoder(), at ? { ...w, after: { at: { seq: at.seq, pos: 0 }, frame: c!.frame } } : w);
    const out: { id: string; type: string }[] = [];
    for (const e of evs) {
      for (const f of r.frame(e).split('\n\n').filter(Boolean)) {
        const [idLine, dataLine] = f.split('\n');
        out.push({ id: idLine!.slice(4), type: (JSON.parse(dataLine!.slice(6)) as AgUiEvent).type });
      }
      if (r.endsAfter(e)) break;
    }
    return out;
  };

  it('gives every frame a cursor; resuming after any of them sends exactly the rest', () => {
    const full = frames(approvalJob);
    expect(new Set(full.map((f) => f.id)).size).toBe(full.length);
    // an event of several frames: `C.0`, `C.1` … and `C` last
    const first = cursorOf(approvalJob[2]!);
    expect(full.slice(1, 4).map((f) => f.id)).toEqual([`${first}.0`, `${first}.1`, first]);
    for (let i = 0; i < full.length; i++) expect(frames(approvalJob, full[i]!.id)).toEqual(full.slice(i + 1));
  });

  it('one run per response: from the start to the interrupt, or from the answer to the end', () => {
    expect(frames(approvalJob, undefined, { oneRun: true }).map((f) => f.type)).toEqual(
      frames(approvalJob)
        .slice(0, 11)
        .map((f) => f.type),
    );
    const r = agUiRender(encoder(), { oneRun: true, fromAnswer: { requestId: 'req_1', runId: 'run-2' } });
    const sent = approvalJob.map((e) => r.frame(e)).join('');
    expect(sent.match(/"type":"[A-Z_]+"/g)).toEqual([
      '"type":"RUN_STARTED"',
      '"type":"TEXT_MESSAGE_START"',
      '"type":"TEXT_MESSAGE_CONTENT"',
      '"type":"TEXT_MESSAGE_END"',
      '"type":"RUN_FINISHED"',
    ]);
    expect(sent).toContain('"runId":"run-2"');
  });
});
