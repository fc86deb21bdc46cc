import { describe, expect, it } from '@jest/globals';
import type { JobEvent } from '@jobstream/contracts';
import { INPUT_LIMITS, TEXT_SCHEMA } from './input-schemas.js';
import { inputRequestProblem, requestSchema } from './input-requests.js';

const call = (call_id: string) => ({ call_id, name: 'get_weather', arguments: {} });
const asked = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ type: 'input_required', request_id: `r${i}` }) as unknown as JobEvent);

describe('inputRequestProblem', () => {
  it('accepts well-formed questions of each kind', () => {
    expect(inputRequestProblem({ kind: 'approval', prompt: 'ok?' }, [])).toBeNull();
    expect(inputRequestProblem({ kind: 'text', prompt: 'why?' }, [])).toBeNull();
    expect(
      inputRequestProblem({ kind: 'tool_results', prompt: '', tool_calls: [call('a'), call('b')] }, []),
    ).toBeNull();
  });

  it('refuses what the contract forbids, with the reason', () => {
    expect(inputRequestProblem({ kind: 'tool_results', prompt: '' }, [])).toBe(
      'a tool_results request needs tool_calls',
    );
    expect(inputRequestProblem({ kind: 'text', prompt: '', tool_calls: [call('a')] }, [])).toBe(
      'a text request cannot carry tool_calls',
    );
    const many = Array.from({ length: INPUT_LIMITS.toolCalls + 1 }, (_, i) => call(`c${i}`));
    expect(inputRequestProblem({ kind: 'tool_results', prompt: '', tool_calls: many }, [])).toBe(
      `a request may carry at most ${INPUT_LIMITS.toolCalls} tool calls`,
    );
    expect(inputRequestProblem({ kind: 'tool_results', prompt: '', tool_calls: [call('a'), call('a')] }, [])).toBe(
      'tool_calls repeat a call_id',
    );
    expect(inputRequestProblem({ kind: 'text', prompt: 'x'.repeat(INPUT_LIMITS.promptChars + 1) }, [])).toBe(
      `the prompt is longer than ${INPUT_LIMITS.promptChars} characters`,
    );
  });

  it("counts the attempt's earlier questions against the per-attempt limit", () => {
    const n = INPUT_LIMITS.requestsPerAttempt;
    expect(inputRequestProblem({ kind: 'text', prompt: '' }, asked(n - 1))).toBeNull();
    expect(inputRequestProblem({ kind: 'text', prompt: '' }, asked(n))).toBe(
      `the agent asked more than ${n} questions in one attempt`,
    );
  });
});

describe('requestSchema', () => {
  it("completes the schema by kind (a tool_results request always gets its calls' schema)", () => {
    expect(requestSchema('text', undefined, [])).toEqual({ schema: { ...TEXT_SCHEMA } });
    const own = { type: 'object', properties: { n: { type: 'number' } } };
    expect(requestSchema('text', own, [])).toEqual({ schema: own });
    const tools = requestSchema('tool_results', own, [call('a')]);
    expect('schema' in tools && tools.schema).not.toEqual(own);
  });

  it('reports a schema that does not compile instead of throwing', () => {
    const bad = requestSchema('text', { type: 'no-such-type' }, []);
    expect(bad).toEqual({ problem: expect.any(String) });
  });
});
