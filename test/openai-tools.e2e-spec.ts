/**
 * The `openai` agent with client-side tools (v1.1), through the real app against the fake OpenAI-compatible server
 * (real wire format): the model calls tools, the job asks the client and waits, the results continue the
 * conversation as `tool` messages — including a model that calls two tools at once.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { JobEvent } from '@jobstream/contracts';
import {
  startFakeOpenAiServer,
  type FakeOpenAiServer,
  type FakeStep,
} from '../src/worker-core/agents/testing/fake-openai-server.js';
import { TOOL_NOT_EXECUTED } from '../src/worker-core/agents/openai.agent.js';
import { startTestApp, type TestApp } from './support/app.js';
import { readAll, tokenText } from './support/sse-client.js';
import { waitFor } from './support/wait.js';

const tools = [
  {
    type: 'function',
    client: true,
    function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } },
  },
  { type: 'function', client: true, function: { name: 'get_time', parameters: { type: 'object', properties: {} } } },
  { type: 'function', function: { name: 'server_side', parameters: { type: 'object', properties: {} } } },
];

const usage = (p: number, c: number): FakeStep => ({ kind: 'usage', prompt_tokens: p, completion_tokens: c });

describe('openai agent: client-side tools (embedded engine, fake provider)', () => {
  let fake: FakeOpenAiServer;
  let app: TestApp;
  beforeAll(async () => {
    fake = await startFakeOpenAiServer();
    app = await startTestApp({ OPENAI_BASE_URL: fake.baseUrl, OPENAI_MODEL: 'gpt-fake' });
  });
  afterAll(async () => {
    await app?.close();
    await fake?.close();
  });

  const waiting = (id: string) =>
    waitFor(
      async () => {
        const j = (await app.api(`/v1/jobs/${id}`)).body;
        return j.status === 'waiting_for_input' || ['completed', 'failed', 'cancelled'].includes(j.status) ? j : null;
      },
      { intervalMs: 10, message: `${id} to wait for input (or end)` },
    );

  it('two tool calls at once: one question listing both; the results continue the conversation as tool messages', async () => {
    fake.enqueue(
      {
        stream: [
          { kind: 'content', text: 'Let me check. ' },
          { kind: 'tool_call', index: 0, id: 'call_w', name: 'get_weather', arguments: '{"ci' },
          { kind: 'tool_call', index: 1, id: 'call_t', name: 'get_time', arguments: '{}' },
          { kind: 'tool_call', index: 0, arguments: 'ty":"Paris"}' },
          { kind: 'finish', reason: 'tool_calls' },
          usage(20, 5),
          { kind: 'done' },
        ],
      },
      {
        stream: [
          { kind: 'content', text: 'It is 21 °C ' },
          { kind: 'content', text: 'at noon.' },
          { kind: 'finish', reason: 'stop' },
          usage(40, 2),
          { kind: 'done' },
        ],
      },
    );
    const before = fake.requests.length;
    const created = await app.api('/v1/jobs', {
      body: { agent: 'openai', input: { prompt: 'Weather and time in Paris?', tools } },
    });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    const job = await waiting(id);
    expect(job.status).toBe('waiting_for_input');
    expect(job.pending_input).toMatchObject({
      kind: 'tool_results',
      tool_calls: [
        { call_id: 'call_w', name: 'get_weather', arguments: { city: 'Paris' } },
        { call_id: 'call_t', name: 'get_time', arguments: {} },
      ],
    });
    expect(job.usage).toEqual({ input_tokens: 20, output_tokens: 5 });
    // the tools are sent without our `client` marker
    const first = fake.requests[before]!;
    expect((first.body.tools as { client?: unknown }[]).every((t) => !('client' in t))).toBe(true);

    const r = await app.api(`/v1/jobs/${id}/input`, {
      body: {
        request_id: job.pending_input.request_id,
        input: {
          results: [
            { call_id: 'call_t', result: '12:00' },
            { call_id: 'call_w', result: { celsius: 21 } },
          ],
        },
      },
    });
    expect(r.status).toBe(202);
    const events = (await readAll(`${app.url}/v1/jobs/${id}/stream`)).events();
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(new Set(events.map((e) => e.attempt))).toEqual(new Set([1]));
    expect(
      events.filter((e) => e.type === 'tool_call_start').map((e) => (e as JobEvent<'tool_call_start'>).call_id),
    ).toEqual(['call_w', 'call_t']);
    expect(events.filter((e) => e.type === 'input_required')).toHaveLength(1);
    expect(tokenText(events)).toBe('Let me check. It is 21 °C at noon.');
    expect(events.at(-1)).toMatchObject({
      type: 'done',
      output: { text: 'Let me check. It is 21 °C at noon.' },
      usage: { input_tokens: 60, output_tokens: 7 },
    });

    // the second request continues the conversation: the assistant turn with both calls, then both results
    expect(fake.requests.length).toBe(before + 2);
    expect(fake.requests[before + 1]!.body.messages).toEqual([
      { role: 'user', content: 'Weather and time in Paris?' },
      {
        role: 'assistant',
        content: 'Let me check. ',
        tool_calls: [
          { id: 'call_w', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
          { id: 'call_t', type: 'function', function: { name: 'get_time', arguments: '{}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_w', content: '{"celsius":21}' },
      { role: 'tool', tool_call_id: 'call_t', content: '12:00' },
    ]);
  });

  it('a server-side tool next to a client one: not executed, reported as such in the tool message; errors from the client too', async () => {
    fake.enqueue(
      {
        stream: [
          { kind: 'tool_call', index: 0, id: 'call_s', name: 'server_side', arguments: '{}' },
          { kind: 'tool_call', index: 1, id: 'call_w', name: 'get_weather', arguments: '{"city":"Oslo"}' },
          { kind: 'finish', reason: 'tool_calls' },
          usage(10, 3),
          { kind: 'done' },
        ],
      },
      {
        stream: [
          { kind: 'content', text: 'Sorry.' },
          { kind: 'finish', reason: 'stop' },
          usage(30, 1),
          { kind: 'done' },
        ],
      },
    );
    const before = fake.requests.length;
    const id = (
      await app.api('/v1/jobs', {
        body: { agent: 'openai', input: { messages: [{ role: 'user', content: 'Oslo?' }], tools } },
      })
    ).body.id as string;
    const job = await waiting(id);
    expect(job.pending_input.tool_calls).toEqual([
      { call_id: 'call_w', name: 'get_weather', arguments: { city: 'Oslo' } },
    ]);
    const r = await app.api(`/v1/jobs/${id}/input`, {
      body: { request_id: job.pending_input.request_id, input: { results: [{ call_id: 'call_w', error: 'offline' }] } },
    });
    expect(r.status).toBe(202);
    const events = (await readAll(`${app.url}/v1/jobs/${id}/stream`)).events();
    expect(events.find((e) => e.type === 'tool_call_end')).toMatchObject({
      call_id: 'call_s',
      error: TOOL_NOT_EXECUTED,
    });
    expect(events.at(-1)).toMatchObject({ type: 'done', output: { text: 'Sorry.' } });
    const messages = fake.requests[before + 1]!.body.messages as unknown[];
    expect(messages.slice(2)).toEqual([
      { role: 'tool', tool_call_id: 'call_s', content: TOOL_NOT_EXECUTED },
      { role: 'tool', tool_call_id: 'call_w', content: 'error: offline' },
    ]);
  });
});
