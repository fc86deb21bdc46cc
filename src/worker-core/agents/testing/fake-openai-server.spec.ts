import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  completionSteps,
  openAiErrorBody,
  startFakeOpenAiServer,
  type FakeOpenAiServer,
} from './fake-openai-server.js';

let server: FakeOpenAiServer;
beforeAll(async () => {
  server = await startFakeOpenAiServer();
});
afterAll(() => server.close());

const post = (body: unknown) =>
  fetch(`${server.baseUrl}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-test' },
    body: JSON.stringify(body),
  });

describe('fake OpenAI server', () => {
  it('streams chunks in the chat-completions wire format, usage last, then [DONE]', async () => {
    server.enqueue({ stream: completionSteps(['Hel', 'lo'], { promptTokens: 7 }) });
    const res = await post({ model: 'm-1', messages: [], stream: true, stream_options: { include_usage: true } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const raw = await res.text();
    const frames = raw.split('\n\n').filter(Boolean);
    expect(frames.every((f) => f.startsWith('data: '))).toBe(true);
    expect(frames.at(-1)).toBe('data: [DONE]');
    const chunks = frames.slice(0, -1).map((f) => JSON.parse(f.slice(6)));
    expect(chunks[0]).toMatchObject({
      object: 'chat.completion.chunk',
      model: 'm-1',
      usage: null,
      choices: [{ index: 0, delta: { role: 'assistant', content: 'Hel' }, finish_reason: null }],
    });
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
    expect(chunks[2].choices[0]).toMatchObject({ delta: {}, finish_reason: 'stop' });
    expect(chunks[3]).toMatchObject({
      choices: [],
      usage: { prompt_tokens: 7, completion_tokens: 2, total_tokens: 9 },
    });
    expect(server.requests.at(-1)).toMatchObject({
      method: 'POST',
      path: '/v1/chat/completions',
      body: { model: 'm-1' },
    });
    expect(server.requests.at(-1)!.headers.authorization).toBe('Bearer sk-test');
    await expect(server.requests.at(-1)!.closedEarly).resolves.toBe(false);
  });

  it('answers an error script with the status and OpenAI error JSON, and an unscripted request with 500', async () => {
    server.enqueue({
      status: 401,
      json: openAiErrorBody('Incorrect API key provided', 'invalid_request_error', 'invalid_api_key'),
    });
    const res = await post({});
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({
      error: {
        message: 'Incorrect API key provided',
        type: 'invalid_request_error',
        param: null,
        code: 'invalid_api_key',
      },
    });
    expect((await post({})).status).toBe(500);
  });

  it('records that the client went away before the script finished', async () => {
    server.enqueue({ stream: [{ kind: 'content', text: 'a' }, { kind: 'hang' }] });
    const ac = new AbortController();
    const res = await fetch(`${server.baseUrl}/chat/completions`, { method: 'POST', body: '{}', signal: ac.signal });
    const reader = res.body!.getReader();
    await reader.read();
    ac.abort();
    await expect(server.requests.at(-1)!.closedEarly).resolves.toBe(true);
  });
});
