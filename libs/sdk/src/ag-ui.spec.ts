import { describe, expect, it } from '@jest/globals';
import { agUiFetch, readAgUiEvents } from './ag-ui.js';

const enc = new TextEncoder();
const frame = (id: string, e: Record<string, unknown>) => `id: ${id}\ndata: ${JSON.stringify(e)}\n\n`;
const RUN = [
  frame('1-1-aaaaaa', { type: 'RUN_STARTED', threadId: 't', runId: 'r' }),
  frame('2-2-aaaaaa.0', { type: 'TEXT_MESSAGE_START', messageId: 'm', role: 'assistant' }),
  frame('2-2-aaaaaa', { type: 'TEXT_MESSAGE_CONTENT', messageId: 'm', delta: 'Hello ' }),
  frame('3-3-aaaaaa', { type: 'TEXT_MESSAGE_CONTENT', messageId: 'm', delta: 'world' }),
  frame('4-4-aaaaaa.0', { type: 'TEXT_MESSAGE_END', messageId: 'm' }),
  frame('4-4-aaaaaa', { type: 'RUN_FINISHED', threadId: 't', runId: 'r', outcome: { type: 'success' } }),
];

/** A body that sends `text` in small pieces, then breaks (or ends). */
function body(text: string, breaks: boolean): ReadableStream<Uint8Array> {
  const bytes = enc.encode(text);
  let at = 0;
  return new ReadableStream({
    pull(c) {
      if (at >= bytes.length) return breaks ? c.error(new TypeError('terminated')) : c.close();
      c.enqueue(bytes.subarray(at, at + 7));
      at += 7;
    },
  });
}

function fakeServer(firstUpTo: number, breaks = true) {
  const calls: { url: string; lastEventId: string | null }[] = [];
  const fetch = async (url: string, init?: RequestInit) => {
    const lastEventId = new Headers(init?.headers).get('last-event-id');
    calls.push({ url, lastEventId });
    if (calls.length === 1) {
      // the POST: cut in the middle of a frame
      const text = RUN.join('').slice(0, firstUpTo);
      return new Response(body(text, breaks), {
        headers: {
          'content-type': 'text/event-stream',
          'x-jobstream-stream-url': '/v1/jobs/job_1/stream?format=ag-ui',
        },
      });
    }
    // the job's stream after the cursor, going on past the run (a later run follows on GET)
    const after = RUN.findIndex((f) => f.startsWith(`id: ${lastEventId}\n`));
    const rest =
      RUN.slice(after + 1).join('') + frame('9-9-aaaaaa', { type: 'RUN_STARTED', threadId: 't', runId: 'x' });
    return new Response(body(rest, false), { headers: { 'content-type': 'text/event-stream' } });
  };
  return { fetch, calls };
}

const dataOf = (text: string) => [...text.matchAll(/^data: (.+)$/gm)].map((m) => JSON.parse(m[1]!) as { type: string });

describe('agUiFetch', () => {
  it('reads a broken run on from the job stream after the last complete frame, and stops at the run’s end', async () => {
    const cut = RUN.slice(0, 3).join('').length + 10; // inside the 4th frame
    const server = fakeServer(cut);
    const res = await agUiFetch({ fetch: server.fetch, resumeDelayMs: 0 })('http://api.test/v1/ag-ui/echo', {
      method: 'POST',
      headers: { Authorization: 'Bearer k', 'Content-Type': 'application/json' },
    });
    const text = await res.text();
    expect(dataOf(text)).toEqual(dataOf(RUN.join('')));
    expect(server.calls).toEqual([
      { url: 'http://api.test/v1/ag-ui/echo', lastEventId: null },
      { url: 'http://api.test/v1/jobs/job_1/stream?format=ag-ui', lastEventId: '2-2-aaaaaa' },
    ]);
  });

  it('an end before the run ended counts as a break; a response without the stream header passes through', async () => {
    const server = fakeServer(RUN.slice(0, 2).join('').length, false);
    const res = await agUiFetch({ fetch: server.fetch, resumeDelayMs: 0 })('http://api.test/v1/ag-ui/echo');
    expect(dataOf(await res.text()).map((e) => e.type)).toEqual(dataOf(RUN.join('')).map((e) => e.type));
    const plain = new Response('{"error":{}}', { status: 400 });
    expect(await agUiFetch({ fetch: async () => plain })('http://x/')).toBe(plain);
  });

  it('gives up as an AbortError when nothing can be resumed', async () => {
    const server = fakeServer(5); // not even one frame: no cursor to resume from
    const res = await agUiFetch({ fetch: server.fetch, resumeDelayMs: 0 })('http://api.test/v1/ag-ui/echo');
    await expect(res.text()).rejects.toMatchObject({ name: 'AbortError' });
  });
});

describe('readAgUiEvents', () => {
  it('yields events with their ids after a cursor, until the job ends', async () => {
    const seen: string[] = [];
    const fetch = async (_url: string, init?: RequestInit) => {
      expect(new Headers(init?.headers).get('last-event-id')).toBe('1-1-aaaaaa');
      return new Response(body(RUN.slice(1).join(''), false));
    };
    for await (const e of readAgUiEvents('http://api.test', 'job_1', { fetch, after: '1-1-aaaaaa' }))
      seen.push(`${e.id} ${e.type}`);
    expect(seen).toEqual([
      '2-2-aaaaaa.0 TEXT_MESSAGE_START',
      '2-2-aaaaaa TEXT_MESSAGE_CONTENT',
      '3-3-aaaaaa TEXT_MESSAGE_CONTENT',
      '4-4-aaaaaa.0 TEXT_MESSAGE_END',
      '4-4-aaaaaa RUN_FINISHED',
    ]);
  });
});
