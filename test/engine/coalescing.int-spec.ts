// Adaptive coalescing on the production engine (JetStream + Redis, the in-process worker): a fast agent's tokens,
// produced faster than the log acknowledges appends, reach an SSE client as fewer events than tokens, the text exact
// and `seq` dense; with COALESCE_TEXT_EVENTS=false every token is its own event.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { echoTokens, type JobEvent } from '@jobstream/contracts';
import { startNatsTestApp, type NatsTestApp } from '../support/nats-app.js';
import { readAll } from '../support/sse-client.js';

const message = Array.from({ length: 1500 }, (_, i) => `w${i} `).join('');

async function streamJob(app: NatsTestApp): Promise<JobEvent[]> {
  const r = await app.api('/v1/jobs', { body: { agent: 'echo', input: { message, delay_ms: 0 } } });
  expect(r.status).toBe(201);
  const job = r.body as { stream_url: string };
  return (await readAll(app.url + job.stream_url, { retryUnavailable: 3 })).events();
}

const textOf = (events: JobEvent[]) => events.map((e) => (e.type === 'token' ? e.text : '')).join('');

describe('adaptive coalescing (JetStream + Redis)', () => {
  let on: NatsTestApp;
  let off: NatsTestApp;
  beforeAll(async () => {
    [on, off] = await Promise.all([startNatsTestApp(), startNatsTestApp({ COALESCE_TEXT_EVENTS: 'false' })]);
  });
  afterAll(async () => {
    await Promise.all([on?.close(), off?.close()]);
  });

  it("a fast agent's text arrives exact, in fewer events than tokens, seq dense", async () => {
    const events = await streamJob(on);
    const tokens = events.filter((e) => e.type === 'token');
    expect(textOf(events)).toBe(message);
    expect(tokens.length).toBeLessThan(echoTokens(message).length);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.at(-1)).toMatchObject({
      type: 'done',
      usage: { output_tokens: echoTokens(message).length },
      output: { text: message },
    });
  });

  it('off: one event per token', async () => {
    const events = await streamJob(off);
    expect(textOf(events)).toBe(message);
    expect(events.filter((e) => e.type === 'token')).toHaveLength(echoTokens(message).length);
  });
});
