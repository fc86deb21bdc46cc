import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { EVENT_TYPES, type AgentEvent, type JobEvent } from './events.js';
import { JOB_STATUSES } from './job.js';
import { initialJobState, reduceJobEvent, reduceJobEvents, stateOfSnapshot, toJobSnapshot } from './snapshot.js';

const JOB = 'job_01JX0000000000000000000000';

/** Stamps agent events like the log does: dense seq, attempt taken from `attempt` events. */
function stamp(agentEvents: AgentEvent[]): JobEvent[] {
  let attempt = 1;
  return agentEvents.map((ev, i) => {
    if (ev.type === 'attempt') attempt = ev.attempt;
    return { ...ev, job_id: JOB, seq: i + 1, ts: new Date(1_700_000_000_000 + i).toISOString(), attempt } as JobEvent;
  });
}

const callId = fc.constantFrom('c1', 'c2', 'c3');
const requestId = fc.constantFrom('r1', 'r2');
const usage = fc.record({ input_tokens: fc.nat(1000), output_tokens: fc.nat(1000) });
/** Every event type, with values drawn so that calls and requests open and close each other often. */
const agentEvent: fc.Arbitrary<AgentEvent> = fc.oneof(
  { weight: 6, arbitrary: fc.string({ maxLength: 6 }).map((text) => ({ type: 'token' as const, text })) },
  { weight: 3, arbitrary: fc.string({ maxLength: 6 }).map((text) => ({ type: 'thinking' as const, text })) },
  fc.constantFrom(...JOB_STATUSES).map((status) => ({ type: 'status' as const, status })),
  fc
    .record({
      call_id: callId,
      name: fc.constantFrom('search', 'calc'),
      arguments: fc
        .jsonValue({ maxDepth: 2 })
        .map((v) => JSON.parse(JSON.stringify(v)) as unknown) /* as on the wire: no -0 */,
    })
    .map((c) => ({ type: 'tool_call_start' as const, ...c })),
  fc
    .record({ call_id: callId, result: fc.integer() })
    .map((c) => ({ type: 'tool_call_end' as const, name: 'search', ...c })),
  fc.integer({ min: 1, max: 4 }).map((attempt) => ({ type: 'attempt' as const, attempt, reason: 'worker_lost' })),
  requestId.map((request_id) => ({
    type: 'input_required' as const,
    request_id,
    kind: 'approval' as const,
    prompt: 'ok?',
  })),
  requestId.map((request_id) => ({ type: 'input_received' as const, request_id, input: { approved: true } })),
  usage.map((u) => ({ type: 'done' as const, usage: u, output: { text: 'x' } })),
  usage.map((u) => ({ type: 'error' as const, code: 'agent_failed', message: 'boom', retryable: false, usage: u })),
  usage.map((u) => ({ type: 'cancelled' as const, reason: 'stop', usage: u })),
);

describe('job snapshot reducer', () => {
  it('covers every event type in the arbitrary', () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(agentEvent, (e) => void seen.add(e.type)),
      { numRuns: 2000 },
    );
    expect([...seen].sort()).toEqual([...EVENT_TYPES].sort());
  });

  it('law: the snapshot at any cut plus the events after it reduce to the state of all events', () => {
    fc.assert(
      fc.property(fc.array(agentEvent, { maxLength: 60 }), (agentEvents) => {
        const events = stamp(agentEvents);
        const all = reduceJobEvents(events);
        for (let cut = 0; cut <= events.length; cut++) {
          // through the wire form, as a client gets it: JSON of the snapshot, then the events after the cut
          const snap = JSON.parse(JSON.stringify(toJobSnapshot(JOB, reduceJobEvents(events.slice(0, cut)))));
          expect(snap.seq).toBe(cut);
          expect(reduceJobEvents(events.slice(cut), stateOfSnapshot(snap))).toEqual(all);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('is pure: reducing never changes the input state or event', () => {
    fc.assert(
      fc.property(fc.array(agentEvent, { maxLength: 30 }), (agentEvents) => {
        const events = stamp(agentEvents);
        const frozen = JSON.stringify(events);
        let s = initialJobState();
        for (const e of events) {
          const before = JSON.stringify(s);
          const next = reduceJobEvent(s, e);
          expect(JSON.stringify(s)).toBe(before);
          s = next;
        }
        expect(JSON.stringify(events)).toBe(frozen);
      }),
    );
  });

  it('follows a job with thinking, tools, an input request and an attempt restart', () => {
    const events = stamp([
      { type: 'status', status: 'queued' },
      { type: 'status', status: 'running' },
      { type: 'thinking', text: 'let me ' },
      { type: 'thinking', text: 'think' },
      { type: 'tool_call_start', call_id: 'c1', name: 'search', arguments: { q: 'x' } },
      { type: 'token', text: 'Hello ' },
      { type: 'attempt', attempt: 2, reason: 'worker_lost' },
      { type: 'status', status: 'running' },
      { type: 'thinking', text: 'again' },
      { type: 'tool_call_start', call_id: 'c2', name: 'search', arguments: { q: 'y' } },
      { type: 'tool_call_start', call_id: 'c3', name: 'client.pick', arguments: {} },
      { type: 'tool_call_end', call_id: 'c2', name: 'search', result: 1 },
      {
        type: 'input_required',
        request_id: 'r1',
        kind: 'tool_results',
        prompt: 'run it',
        tool_calls: [{ call_id: 'c3', name: 'client.pick', arguments: {} }],
      },
      { type: 'status', status: 'waiting_for_input' },
    ]);
    const waiting = reduceJobEvents(events);
    expect(waiting).toMatchObject({
      seq: 14,
      status: 'waiting_for_input',
      attempt: 2,
      text: '',
      thinking: 'again',
      open_tool_calls: [{ call_id: 'c3', name: 'client.pick', arguments: {} }],
      pending_input: { type: 'input_required', request_id: 'r1', seq: 13 },
      usage: { input_tokens: 0, output_tokens: 0 },
    });
    const more = stamp([
      ...events.map((e) => e as unknown as AgentEvent),
      { type: 'input_received', request_id: 'r1', input: { results: [] } },
      { type: 'tool_call_end', call_id: 'c3', name: 'client.pick', result: 'a' },
      { type: 'token', text: 'Hi' },
      { type: 'done', usage: { input_tokens: 3, output_tokens: 1 }, output: { text: 'Hi' } },
    ]);
    expect(reduceJobEvents(more)).toMatchObject({
      seq: 18,
      status: 'completed',
      text: 'Hi',
      open_tool_calls: [],
      pending_input: null,
      usage: { input_tokens: 3, output_tokens: 1 },
    });
  });

  it('imports at run time only the zod-free terminal module (the browser SDK loads it at run time)', () => {
    for (const file of ['./snapshot.ts', './terminal.ts']) {
      const text = readFileSync(fileURLToPath(new URL(file, import.meta.url)), 'utf8');
      for (const m of text.matchAll(/^import\s+(type\s+)?[^;]*?from\s+'([^']+)'/gms))
        if (m[1] !== 'type ') expect(m[2]).toBe('./terminal.js');
    }
  });
});
