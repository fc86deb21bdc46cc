import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { isTerminalEvent, parseAgentEvent, type AgentEvent } from '@jobstream/contracts';
import { waitFor } from '../../../libs/contracts/src/testing/wait.js';
import type { AgentContext } from './agent.js';
import { OpenAiAgent, TOOL_NOT_EXECUTED, conversationOf, type OpenAiAgentConfig } from './openai.agent.js';
import {
  completionSteps,
  openAiErrorBody,
  startFakeOpenAiServer,
  type FakeOpenAiServer,
  type FakeScript,
} from './testing/fake-openai-server.js';

const API_KEY = 'sk-test-0123456789abcdef';

let server: FakeOpenAiServer;
beforeAll(async () => {
  server = await startFakeOpenAiServer();
});
afterAll(() => server.close());

function context(input: Record<string, unknown>, signal = new AbortController().signal): AgentContext {
  return { jobId: 'job_01TEST', attempt: 1, input, signal, usage: { input_tokens: 0, output_tokens: 0 }, history: [] };
}

/**
 * Runs the agent against the fake server with one script. Every event must satisfy the contract's schema, and a run
 * that was not aborted must end with exactly one terminal event.
 */
async function run(
  script: FakeScript | null,
  input: Record<string, unknown> = { prompt: 'hi' },
  opts: {
    config?: Partial<OpenAiAgentConfig>;
    onEvent?: (e: AgentEvent, ctx: AgentContext, events: AgentEvent[]) => void;
    signal?: AbortSignal;
  } = {},
) {
  if (script) server.enqueue(script);
  const before = server.requests.length;
  const agent = new OpenAiAgent({ baseUrl: server.baseUrl, apiKey: API_KEY, defaultModel: 'gpt-fake', ...opts.config });
  const ctx = context(input, opts.signal);
  const events: AgentEvent[] = [];
  for await (const e of agent.run(ctx)) {
    parseAgentEvent(e);
    events.push(e as AgentEvent);
    opts.onEvent?.(e as AgentEvent, ctx, events);
  }
  if (!ctx.signal.aborted) {
    expect(events.filter(isTerminalEvent)).toHaveLength(1);
    expect(isTerminalEvent(events.at(-1)!)).toBe(true);
  }
  const request = server.requests.length > before ? server.requests.at(-1) : undefined;
  return { events, ctx, request, last: events.at(-1)! };
}

const types = (events: AgentEvent[]) => events.map((e) => e.type);
const tokens = (events: AgentEvent[]) => events.flatMap((e) => (e.type === 'token' ? [e.text] : []));

describe('OpenAiAgent — the request', () => {
  it("sends a thread's earlier turns as messages before this turn's", async () => {
    server.enqueue({ stream: completionSteps(['ok']) });
    const agent = new OpenAiAgent({ baseUrl: server.baseUrl, apiKey: API_KEY, defaultModel: 'gpt-fake' });
    const ctx: AgentContext = {
      ...context({ prompt: 'And tomorrow?' }),
      turn: 3,
      conversation: [
        { turn: 1, job_id: 'job_1', input: { prompt: 'Weather in Oslo?' }, output_text: 'Rainy.' },
        {
          turn: 2,
          job_id: 'job_2',
          input: {
            messages: [
              { role: 'system', content: 'Be brief.' },
              { role: 'user', content: 'And Bergen?' },
            ],
          },
          output_text: null,
        },
      ],
    };
    for await (const _ of agent.run(ctx)) void _;
    expect(server.requests.at(-1)!.body.messages).toEqual([
      { role: 'user', content: 'Weather in Oslo?' },
      { role: 'assistant', content: 'Rainy.' },
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'And Bergen?' },
      { role: 'user', content: 'And tomorrow?' },
    ]);
  });

  it('POSTs a streamed chat completion with usage, the Bearer key and the passed-through parameters', async () => {
    const { request } = await run(
      { stream: completionSteps(['ok']) },
      { prompt: 'Say ok', temperature: 0.3, max_tokens: 20, stop: ['\n'] },
    );
    expect(request).toMatchObject({ method: 'POST', path: '/v1/chat/completions' });
    expect(request!.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(request!.headers['content-type']).toBe('application/json');
    expect(request!.headers.accept).toBe('text/event-stream');
    expect(request!.body).toEqual({
      model: 'gpt-fake',
      messages: [{ role: 'user', content: 'Say ok' }],
      temperature: 0.3,
      max_tokens: 20,
      stop: ['\n'],
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  it('sends messages as given, lets the input choose the model, and omits Authorization without a key', async () => {
    const messages = [
      { role: 'system', content: 'be brief' },
      { role: 'user', content: 'hello' },
    ];
    const tools = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } }];
    const { request } = await run(
      { stream: completionSteps(['hi']) },
      { messages, model: 'other-model', tools, tool_choice: 'auto' },
      { config: { apiKey: undefined, baseUrl: `${server.baseUrl}/` } },
    );
    expect(request!.path).toBe('/v1/chat/completions');
    expect(request!.headers.authorization).toBeUndefined();
    expect(request!.body).toMatchObject({ model: 'other-model', messages, tools, tool_choice: 'auto' });
  });

  it('ends with a non-retryable agent_misconfigured error when no model is known, without calling the provider', async () => {
    const { events, request } = await run(null, { prompt: 'x' }, { config: { defaultModel: undefined } });
    expect(request).toBeUndefined();
    expect(events).toEqual([
      {
        type: 'error',
        code: 'agent_misconfigured',
        message: expect.any(String),
        retryable: false,
        usage: { input_tokens: 0, output_tokens: 0 },
      },
    ]);
  });

  it('refuses input that fails the schema', async () => {
    const agent = new OpenAiAgent({ baseUrl: server.baseUrl, defaultModel: 'm' });
    await expect(
      agent
        .run(context({ prompt: 'a', messages: [] }))
        [Symbol.asyncIterator]()
        .next(),
    ).rejects.toThrow();
  });
});

describe('OpenAiAgent — the event mapping', () => {
  it('maps content deltas to tokens and ends with done carrying the text and the provider usage', async () => {
    const { events } = await run({ stream: completionSteps(['Hello', ',', ' world', '!'], { promptTokens: 12 }) });
    expect(events).toEqual([
      { type: 'token', text: 'Hello' },
      { type: 'token', text: ',' },
      { type: 'token', text: ' world' },
      { type: 'token', text: '!' },
      { type: 'done', usage: { input_tokens: 12, output_tokens: 4 }, output: { text: 'Hello, world!' } },
    ]);
  });

  it('keeps ctx.usage current: output tokens counted per delta until the provider usage replaces the estimate', async () => {
    const seen: Array<[number, number]> = [];
    const { ctx } = await run(
      {
        stream: [
          ...completionSteps(['a', 'b', 'c']).slice(0, 4),
          { kind: 'usage', prompt_tokens: 9, completion_tokens: 5 },
          { kind: 'done' },
        ],
      },
      { prompt: 'x' },
      { onEvent: (e, c) => e.type === 'token' && seen.push([c.usage.input_tokens, c.usage.output_tokens]) },
    );
    expect(seen).toEqual([
      [0, 1],
      [0, 2],
      [0, 3],
    ]);
    expect(ctx.usage).toEqual({ input_tokens: 9, output_tokens: 5 });
  });

  it('maps reasoning_content and reasoning deltas to thinking, before the answer', async () => {
    const { events } = await run({
      stream: [
        { kind: 'reasoning', text: 'Let me ', field: 'reasoning_content' },
        { kind: 'reasoning', text: 'think.', field: 'reasoning' },
        ...completionSteps(['42']),
      ],
    });
    expect(events.slice(0, 3)).toEqual([
      { type: 'thinking', text: 'Let me ' },
      { type: 'thinking', text: 'think.' },
      { type: 'token', text: '42' },
    ]);
    expect(events.at(-1)).toMatchObject({ type: 'done', output: { text: '42' } });
  });

  it('maps a refusal to tokens, so the client sees the model’s answer', async () => {
    server.enqueue({
      stream: [
        {
          kind: 'raw',
          data: JSON.stringify({
            id: 'c',
            object: 'chat.completion.chunk',
            created: 1,
            model: 'm',
            choices: [
              {
                index: 0,
                delta: { role: 'assistant', content: null, refusal: "I can't help with that." },
                finish_reason: null,
              },
            ],
          }),
        },
        { kind: 'finish', reason: 'stop' },
        { kind: 'done' },
      ],
    });
    const { events } = await run(null);
    expect(events).toEqual([
      { type: 'token', text: "I can't help with that." },
      { type: 'done', usage: { input_tokens: 0, output_tokens: 1 }, output: { text: "I can't help with that." } },
    ]);
  });

  it('accumulates tool calls split across chunks and reports each as started and not executed, then done', async () => {
    const { events } = await run({
      stream: [
        { kind: 'tool_call', index: 0, id: 'call_abc', name: 'get_weather', arguments: '' },
        { kind: 'tool_call', index: 0, arguments: '{"lo' },
        { kind: 'tool_call', index: 0, arguments: 'cation": "Par' },
        { kind: 'tool_call', index: 1, id: 'call_def', name: 'get_time', arguments: '' },
        { kind: 'tool_call', index: 0, arguments: 'is"}' },
        { kind: 'tool_call', index: 1, arguments: '{"tz":"CET"}' },
        { kind: 'finish', reason: 'tool_calls' },
        { kind: 'usage', prompt_tokens: 50, completion_tokens: 17 },
        { kind: 'done' },
      ],
    });
    expect(events).toEqual([
      { type: 'tool_call_start', call_id: 'call_abc', name: 'get_weather', arguments: { location: 'Paris' } },
      { type: 'tool_call_end', call_id: 'call_abc', name: 'get_weather', error: TOOL_NOT_EXECUTED },
      { type: 'tool_call_start', call_id: 'call_def', name: 'get_time', arguments: { tz: 'CET' } },
      { type: 'tool_call_end', call_id: 'call_def', name: 'get_time', error: TOOL_NOT_EXECUTED },
      { type: 'done', usage: { input_tokens: 50, output_tokens: 17 }, output: { text: '' } },
    ]);
  });

  it('releases a tool call at the end of the stream when no finish_reason came, and keeps bad JSON arguments raw', async () => {
    const { events } = await run({
      stream: [
        { kind: 'content', text: 'Checking.' },
        { kind: 'tool_call', index: 0, id: 'call_1', name: 'lookup', arguments: '{"q": "unterminated' },
        { kind: 'done' },
      ],
    });
    expect(types(events)).toEqual(['token', 'tool_call_start', 'tool_call_end', 'done']);
    expect(events[1]).toEqual({
      type: 'tool_call_start',
      call_id: 'call_1',
      name: 'lookup',
      arguments: '{"q": "unterminated',
    });
    expect(events[2]).toMatchObject({
      type: 'tool_call_end',
      call_id: 'call_1',
      error: expect.stringContaining('not valid JSON'),
    });
    expect(events[3]).toMatchObject({ output: { text: 'Checking.' } });
  });

  it('ends with done when finish_reason came but the server closed without [DONE]', async () => {
    const { events } = await run({
      stream: completionSteps(['a']).filter((s) => s.kind !== 'done' && s.kind !== 'usage'),
    });
    expect(events).toEqual([
      { type: 'token', text: 'a' },
      { type: 'done', usage: { input_tokens: 0, output_tokens: 1 }, output: { text: 'a' } },
    ]);
  });

  it('ends with done on finish_reason length (the max_tokens cut is a normal end)', async () => {
    const { last } = await run({ stream: completionSteps(['a', 'b'], { finish: 'length' }) });
    expect(last).toMatchObject({ type: 'done', output: { text: 'ab' } });
  });
});

describe('OpenAiAgent — errors', () => {
  const httpCases: Array<[number, string, string | null, boolean]> = [
    [429, 'tokens', 'rate_limit_exceeded', true],
    [429, 'insufficient_quota', 'insufficient_quota', false],
    [500, 'server_error', null, true],
    [502, 'server_error', null, true],
    [503, 'server_error', null, true],
    [400, 'invalid_request_error', 'context_length_exceeded', false],
    [401, 'invalid_request_error', 'invalid_api_key', false],
    [403, 'invalid_request_error', 'unsupported_country_region_territory', false],
    [404, 'invalid_request_error', 'model_not_found', false],
    [422, 'invalid_request_error', null, false],
  ];
  it.each(httpCases)('HTTP %i (%s) → provider_http_<status>, retryable %s', async (status, type, code, retryable) => {
    const { events } = await run({ status, json: openAiErrorBody(`the provider says ${status}`, type, code) });
    expect(events).toEqual([
      {
        type: 'error',
        code: `provider_http_${status}`,
        message: expect.stringContaining(`the provider says ${status}`),
        retryable,
        usage: { input_tokens: 0, output_tokens: 0 },
      },
    ]);
  });

  it('never puts the API key in a message, even when the provider echoes it', async () => {
    const { last } = await run({
      status: 401,
      json: openAiErrorBody(`Incorrect API key provided: ${API_KEY}.`, 'invalid_request_error', 'invalid_api_key'),
    });
    expect(last).toMatchObject({ type: 'error', retryable: false });
    expect((last as { message: string }).message).not.toContain(API_KEY);
    expect((last as { message: string }).message).toContain('[redacted]');
  });

  it('handles an error body that is not JSON', async () => {
    const { last } = await run({ status: 502, json: '<html>Bad Gateway</html>' });
    expect(last).toMatchObject({ type: 'error', code: 'provider_http_502', retryable: true });
  });

  it.each([
    ['server_error', null, true],
    ['tokens', 'rate_limit_exceeded', true],
    ['invalid_request_error', 'invalid_prompt', false],
  ])(
    'an error object mid-stream after the 200 (%s/%s) → provider_error, retryable %s, after the tokens so far',
    async (type, code, retryable) => {
      const { events } = await run({
        stream: [
          { kind: 'content', text: 'Once' },
          { kind: 'content', text: ' upon' },
          {
            kind: 'error',
            error: {
              message: 'The server had an error while processing your request.',
              type,
              param: null,
              code,
            } as never,
          },
          { kind: 'hang' },
        ],
      });
      expect(types(events)).toEqual(['token', 'token', 'error']);
      expect(events[2]).toEqual({
        type: 'error',
        code: 'provider_error',
        message: expect.stringContaining('The server had an error'),
        retryable,
        usage: { input_tokens: 0, output_tokens: 2 },
      });
    },
  );

  it('a stream that ends without finish_reason or [DONE] → retryable provider_stream_truncated', async () => {
    const { events } = await run({
      stream: [
        { kind: 'content', text: 'a' },
        { kind: 'content', text: 'b' },
      ],
    });
    expect(tokens(events)).toEqual(['a', 'b']);
    expect(events.at(-1)).toMatchObject({
      type: 'error',
      code: 'provider_stream_truncated',
      retryable: true,
      usage: { output_tokens: 2 },
    });
  });

  it('a stream cut in the middle of a tool call → truncated, and the incomplete call is not reported', async () => {
    const { events } = await run({
      stream: [{ kind: 'tool_call', index: 0, id: 'call_1', name: 'lookup', arguments: '{"q": "par' }],
    });
    expect(events).toEqual([
      {
        type: 'error',
        code: 'provider_stream_truncated',
        message: expect.any(String),
        retryable: true,
        usage: { input_tokens: 0, output_tokens: 1 },
      },
    ]);
  });

  it('a stream cut in the middle of an event → retryable provider_stream_truncated, not a parse error', async () => {
    const { last } = await run({
      stream: [
        { kind: 'content', text: 'a' },
        { kind: 'raw', bytes: 'data: {"id":"chatcmpl-x","choi' },
      ],
    });
    expect(last).toMatchObject({ type: 'error', code: 'provider_stream_truncated', retryable: true });
  });

  it('a connection reset mid-stream → retryable provider_stream_truncated', async () => {
    const { events } = await run({
      stream: [{ kind: 'content', text: 'a' }, { kind: 'delay', ms: 20 }, { kind: 'destroy' }],
    });
    expect(types(events)).toEqual(['token', 'error']);
    expect(events[1]).toMatchObject({ code: 'provider_stream_truncated', retryable: true });
  });

  it('a data line that is not JSON → non-retryable provider_bad_response', async () => {
    const { last } = await run({
      stream: [{ kind: 'content', text: 'a' }, { kind: 'raw', data: '{not json' }, { kind: 'hang' }],
    });
    expect(last).toMatchObject({ type: 'error', code: 'provider_bad_response', retryable: false });
  });

  it('a 200 with a JSON error body instead of a stream → classified like a mid-stream error', async () => {
    const { last } = await run({ status: 200, json: openAiErrorBody('overloaded', 'server_error') });
    expect(last).toMatchObject({ type: 'error', code: 'provider_error', retryable: true });
  });

  it('a 200 with a JSON body that is no error (the server ignored stream: true) → provider_bad_response', async () => {
    const { last } = await run({ status: 200, json: { id: 'c', object: 'chat.completion', choices: [] } });
    expect(last).toMatchObject({ type: 'error', code: 'provider_bad_response', retryable: false });
  });

  it('an error given as plain text mid-stream (`{"error": "…"}`) → provider_error with that text', async () => {
    const { events } = await run({
      stream: [
        { kind: 'content', text: 'a' },
        { kind: 'raw', data: '{"error":"upstream overloaded"}' },
        { kind: 'hang' },
      ],
    });
    expect(types(events)).toEqual(['token', 'error']);
    expect(events[1]).toMatchObject({
      code: 'provider_error',
      message: expect.stringContaining('upstream overloaded'),
    });
  });

  it('an SSE event over 8 MiB → provider_bad_response, and the connection is closed', async () => {
    const { last, request } = await run({
      stream: [{ kind: 'raw', bytes: `data: {"x":"${'y'.repeat(8 * 1024 * 1024)}` }, { kind: 'hang' }],
    });
    expect(last).toMatchObject({ type: 'error', code: 'provider_bad_response', retryable: false });
    expect((last as { message: string }).message).toContain('SSE event');
    await expect(request!.closedEarly).resolves.toBe(true);
  });

  it('finish_reason content_filter → non-retryable provider_content_filter', async () => {
    const { events } = await run({ stream: completionSteps(['partial'], { finish: 'content_filter' }) });
    expect(types(events)).toEqual(['token', 'error']);
    expect(events[1]).toMatchObject({ code: 'provider_content_filter', retryable: false });
  });

  it('an unreachable provider → retryable provider_unreachable', async () => {
    const gone = await startFakeOpenAiServer();
    const baseUrl = gone.baseUrl;
    await gone.close();
    const { last } = await run(null, { prompt: 'x' }, { config: { baseUrl } });
    expect(last).toMatchObject({ type: 'error', code: 'provider_unreachable', retryable: true });
    expect((last as { message: string }).message).not.toContain(API_KEY);
  });

  it('no response headers within timeoutMs → retryable provider_timeout, and the request is closed', async () => {
    const { events, request } = await run(
      { stream: [], hangBeforeHeaders: true },
      { prompt: 'x' },
      { config: { timeoutMs: 150 } },
    );
    expect(events).toEqual([
      {
        type: 'error',
        code: 'provider_timeout',
        message: expect.stringContaining('150 ms'),
        retryable: true,
        usage: { input_tokens: 0, output_tokens: 0 },
      },
    ]);
    await expect(request!.closedEarly).resolves.toBe(true);
  });

  it('a stream that stalls for timeoutMs → retryable provider_timeout after the tokens so far', async () => {
    const { events, request } = await run(
      { stream: [{ kind: 'content', text: 'a' }, { kind: 'hang' }] },
      { prompt: 'x' },
      { config: { timeoutMs: 150 } },
    );
    expect(types(events)).toEqual(['token', 'error']);
    expect(events[1]).toMatchObject({ code: 'provider_timeout', retryable: true, usage: { output_tokens: 1 } });
    await expect(request!.closedEarly).resolves.toBe(true);
  });
});

describe('OpenAiAgent — abort', () => {
  const slow = (): FakeScript => ({
    stream: [
      ...completionSteps(
        Array.from({ length: 50 }, (_, i) => `t${i} `),
        { delayMs: 20 },
      ).slice(0, 8),
      { kind: 'hang' },
    ],
  });

  it('stops mid-stream on abort: no terminal event, the usage so far, and the provider sees the connection close', async () => {
    const ac = new AbortController();
    const { events, ctx, request } = await run(
      slow(),
      { prompt: 'long story' },
      {
        signal: ac.signal,
        onEvent: (_e, _c, evs) => {
          if (evs.length === 2) ac.abort(new Error('cancelled by user'));
        },
      },
    );
    expect(events).toEqual([
      { type: 'token', text: 't0 ' },
      { type: 'token', text: 't1 ' },
    ]);
    expect(ctx.usage).toEqual({ input_tokens: 0, output_tokens: 2 });
    await expect(request!.closedEarly).resolves.toBe(true);
  });

  it('an abort while waiting for the response headers returns with no event and closes the request', async () => {
    const ac = new AbortController();
    server.enqueue({ stream: [], hangBeforeHeaders: true });
    const agent = new OpenAiAgent({ baseUrl: server.baseUrl, defaultModel: 'm' });
    const ctx = context({ prompt: 'x' }, ac.signal);
    const before = server.requests.length;
    const it = agent.run(ctx)[Symbol.asyncIterator]();
    const next = it.next();
    await waitFor(() => server.requests.length > before, { intervalMs: 5, message: 'the request to reach the server' });
    ac.abort();
    await expect(next).resolves.toEqual({ done: true, value: undefined });
    await expect(server.requests.at(-1)!.closedEarly).resolves.toBe(true);
  });

  it('an already aborted signal makes no request', async () => {
    const ac = new AbortController();
    ac.abort();
    const { events, request } = await run(null, { prompt: 'x' }, { signal: ac.signal });
    expect(events).toEqual([]);
    expect(request).toBeUndefined();
  });

  it('a consumer that stops iterating closes the connection too', async () => {
    server.enqueue(slow());
    const agent = new OpenAiAgent({ baseUrl: server.baseUrl, defaultModel: 'm' });
    for await (const e of agent.run(context({ prompt: 'x' }))) {
      expect(e.type).toBe('token');
      break;
    }
    await expect(server.requests.at(-1)!.closedEarly).resolves.toBe(true);
  });
});

describe('conversationOf (continuing after client tool results)', () => {
  const ev = <T extends Record<string, unknown>>(seq: number, e: T) =>
    ({ job_id: 'job_x', seq, ts: '', attempt: 1, ...e }) as never;
  it('rebuilds each round: the assistant text and tool calls, then one tool message per call, in call order', () => {
    const history = [
      ev(1, { type: 'status', status: 'queued' }),
      ev(2, { type: 'token', text: 'Checking ' }),
      ev(3, { type: 'tool_call_start', call_id: 'a', name: 'f', arguments: { x: 1 } }),
      ev(4, { type: 'tool_call_start', call_id: 'b', name: 'srv', arguments: '{not json' }),
      ev(5, { type: 'tool_call_end', call_id: 'b', name: 'srv', error: 'not executed' }),
      ev(6, {
        type: 'input_required',
        request_id: 'r1',
        kind: 'tool_results',
        prompt: 'p',
        tool_calls: [{ call_id: 'a', name: 'f', arguments: { x: 1 } }],
      }),
      ev(7, { type: 'input_received', request_id: 'r1', input: { results: [{ call_id: 'a', result: [1, 2] }] } }),
      ev(8, { type: 'tool_call_start', call_id: 'c', name: 'f', arguments: {} }),
      ev(9, {
        type: 'input_required',
        request_id: 'r2',
        kind: 'tool_results',
        prompt: 'p',
        tool_calls: [{ call_id: 'c', name: 'f', arguments: {} }],
      }),
      ev(10, { type: 'input_received', request_id: 'r2', input: { results: [{ call_id: 'c', error: 'denied' }] } }),
    ];
    expect(conversationOf({ prompt: 'hi' } as never, history)).toEqual([
      { role: 'user', content: 'hi' },
      {
        role: 'assistant',
        content: 'Checking ',
        tool_calls: [
          { id: 'a', type: 'function', function: { name: 'f', arguments: '{"x":1}' } },
          { id: 'b', type: 'function', function: { name: 'srv', arguments: '{not json' } },
        ],
      },
      { role: 'tool', tool_call_id: 'a', content: '[1,2]' },
      { role: 'tool', tool_call_id: 'b', content: 'not executed' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{}' } }],
      },
      { role: 'tool', tool_call_id: 'c', content: 'error: denied' },
    ]);
    expect(conversationOf({ prompt: 'hi' } as never, [])).toEqual([{ role: 'user', content: 'hi' }]);
  });
});
