/**
 * The SDK's interactive-job support (v1.1) against the real app, through a proxy that cuts connections: an input
 * handler answers approvals and client tools, replays never offer answered questions, answers map to typed errors.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  JobstreamError,
  createClient,
  seededRandom,
  streamJobUntilComplete,
  subscribeJobStream,
  type JobEvent,
  type JobstreamClient,
} from '@jobstream/sdk';
import { startTestApp, type TestApp } from './support/app.js';
import { startCuttingProxy, type CuttingProxy } from './support/cutting-proxy.js';
import { waitFor } from './support/wait.js';

const KEY = 'sdk-int-key-0001';
const MESSAGE = 'Shall I archive the 312 closed tickets from last quarter? ';
const FAST = { initialDelayMs: 5, maxDelayMs: 100, maxRetries: 60 };

describe('SDK: interactive jobs (embedded engine)', () => {
  let app: TestApp;
  let client: JobstreamClient;
  let proxy: CuttingProxy;
  beforeAll(async () => {
    app = await startTestApp({ API_KEYS: `acme:${KEY}`, HEARTBEAT_MS: '200', SSE_RETRY_MS: '100' });
    client = createClient({ baseUrl: app.url, apiKey: KEY });
    const rnd = seededRandom(7);
    proxy = await startCuttingProxy(app.url, () => 300 + Math.floor(rnd() * 1500));
  });
  afterAll(async () => {
    await proxy?.close();
    await app?.close();
  });

  it('streamJobUntilComplete answers an approval through its input handler, across random connection cuts', async () => {
    const job = await client.jobs.create({
      agent: 'echo',
      input: { message: MESSAGE, ask: { after: 4, prompt: 'Archive?' }, delay_ms: 2 },
    });
    const asked: JobEvent<'input_required'>[] = [];
    const flaky = createClient({ baseUrl: proxy.url, apiKey: KEY });
    const done = await streamJobUntilComplete(job.id, {
      client: flaky,
      reconnect: FAST,
      onInputRequired: (event) => {
        asked.push(event);
        return { approved: true };
      },
    });
    expect(asked.map((e) => [e.kind, e.prompt])).toEqual([['approval', 'Archive?']]);
    expect(done.job.status).toBe('completed');
    expect(done.text).toBe(MESSAGE);
    expect(done.events.map((e) => e.seq)).toEqual(done.events.map((_, i) => i + 1));
  });

  it('subscribeJobStream offers a client tool call; respond() sends the result', async () => {
    const job = await client.jobs.create({
      agent: 'echo',
      input: { message: 'tool first', client_tool: { name: 'get_weather' } },
    });
    const sub = subscribeJobStream(
      job.id,
      {
        onInputRequired: async (event, respond) => {
          expect(event.kind).toBe('tool_results');
          const [call] = event.tool_calls!;
          const after = await respond({ results: [{ call_id: call!.call_id, result: { celsius: 21 } }] });
          expect(['queued', 'running', 'completed']).toContain(after.status);
        },
      },
      { client, reconnect: FAST },
    );
    const r = await sub.done;
    expect(r.outcome).toBe('completed');
    if (r.outcome !== 'completed') return;
    expect(r.text).toBe('tool first');
    const events = (await client.jobs.events(job.id, { limit: 100 })).events;
    expect(events.find((e) => e.type === 'tool_call_end')).toMatchObject({
      name: 'get_weather',
      result: { celsius: 21 },
    });
  });

  it('a replay after the answer does not offer the answered question again; answers map to typed errors', async () => {
    const job = await client.jobs.create({ agent: 'echo', input: { message: 'a b c', ask: { after: 1 } } });
    const rid = await waitFor(
      async () => {
        const j = await client.jobs.get(job.id);
        return j.status === 'waiting_for_input' ? j.pending_input!.request_id : '';
      },
      { intervalMs: 10, message: `${job.id} to wait for input` },
    );
    await expect(client.jobs.input(job.id, { request_id: rid, input: { approved: 1 } })).rejects.toMatchObject({
      code: 'invalid_request',
      status: 400,
    });
    await expect(client.jobs.input(job.id, { request_id: 'nope', input: { approved: true } })).rejects.toBeInstanceOf(
      JobstreamError,
    );
    const accepted = await client.jobs.input(job.id, { request_id: rid, input: { approved: true } });
    expect(accepted.id).toBe(job.id);
    await client.jobs.wait(job.id, { timeoutS: 20 });
    expect((await client.jobs.input(job.id, { request_id: rid, input: { approved: true } })).status).toBe('completed');
    await expect(client.jobs.input(job.id, { request_id: rid, input: { approved: false } })).rejects.toMatchObject({
      code: 'already_answered',
      status: 409,
    });
    let offered = 0;
    const replay = await streamJobUntilComplete(job.id, { client, onInputRequired: () => void offered++ });
    expect(replay.text).toBe('a b c');
    expect(offered).toBe(0);
  });
});
