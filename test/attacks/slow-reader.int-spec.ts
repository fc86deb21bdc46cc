/**
 * Attack: a slow reader of a huge job against a real API process (embedded engine, spawned from dist/).
 *
 * A ~100 MB echo job (token events of ~200 KB; it ends with a small `error`, fail_after, so no event carries the
 * whole text) is read by a client that takes a few events and then stops reading. The API must not buffer the job
 * for it: replay pages are byte-bounded and wait for the socket, and a client whose socket does not drain for
 * SSE_STALL_TIMEOUT_MS is dropped (jobstream_sse_dropped_slow_total). Its RSS is sampled throughout and compared
 * with a baseline taken in the same test, after the job was written (the embedded log holds the job in memory).
 * The dropped reader then resumes with its last complete event id and gets exactly the rest, to the terminal event.
 *
 * MAX_JOB_BYTES is set to 128 MiB (the job is ~96 MiB), so this runs the same where that cap exists; the tokens
 * (~200 KB) stay under MAX_EVENT_BYTES' default (256 KiB).
 */
import { readFileSync } from 'node:fs';
import { request, type IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createParser } from 'eventsource-parser';
import { spawnApi, type ApiProcess } from '../support/api-process.js';
import { waitFor } from '../support/wait.js';

const MiB = 1024 * 1024;
const TOKEN_CHARS = 200_000;
const TOKENS_PER_MESSAGE = 4;
const REPEAT = 125; // 500 token events of ~200 KB: ~100 MB of events
const TOKENS = TOKENS_PER_MESSAGE * REPEAT;

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]) * 1024;
}
const mib = (b: number) => `${(b / MiB).toFixed(1)} MiB`;

interface Received {
  seq: number;
  id: string;
  type: string;
  textLength: number;
  outputTokens?: number;
}

/** A raw SSE read over node:http, so the test can stop reading (pause) and resume at will. */
function openStream(url: string, lastEventId?: string) {
  const events: Received[] = [];
  let res: IncomingMessage | null = null;
  const parser = createParser({
    onEvent: (m) => {
      const e = JSON.parse(m.data) as { seq: number; type: string; text?: string; usage?: { output_tokens: number } };
      events.push({
        seq: e.seq,
        id: m.id ?? '',
        type: e.type,
        textLength: e.text?.length ?? 0,
        outputTokens: e.usage?.output_tokens,
      });
    },
  });
  const decoder = new TextDecoder();
  const closed = new Promise<void>((resolve, reject) => {
    const req = request(
      url,
      { headers: { Accept: 'text/event-stream', ...(lastEventId ? { 'Last-Event-ID': lastEventId } : {}) } },
      (r) => {
        res = r;
        if (r.statusCode !== 200) reject(new Error(`stream answered ${r.statusCode}`));
        r.on('data', (chunk: Buffer) => parser.feed(decoder.decode(chunk, { stream: true })));
        r.on('close', () => resolve());
        r.on('error', () => resolve()); // aborted by the server: what was parsed stays
      },
    );
    req.on('error', () => resolve());
    req.end();
  });
  return {
    events,
    closed,
    pause: () => res?.pause(),
    resume: () => res?.resume(),
  };
}

async function metric(api: ApiProcess, name: string): Promise<number> {
  const text = await (await fetch(`${api.url}/metrics`)).text();
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

describe('attack: a slow reader of a ~100 MB job', () => {
  let api: ApiProcess;

  beforeAll(async () => {
    api = await spawnApi({
      SSE_STALL_TIMEOUT_MS: '1500',
      HEARTBEAT_MS: '300',
      MAX_JOB_BYTES: String(128 * MiB),
      MAX_BODY_BYTES: String(2 * MiB),
      RATE_LIMIT_CREATE_PER_MIN: '0',
    });
  });
  afterAll(async () => {
    await api?.stop();
  });

  it('keeps the API within its memory, drops the reader, and lets it resume exactly to the end', async () => {
    const message = `${'a'.repeat(TOKEN_CHARS - 1)} `.repeat(TOKENS_PER_MESSAGE);
    const created = await fetch(`${api.url}/v1/jobs`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ agent: 'echo', input: { message, repeat: REPEAT, fail_after: TOKENS } }),
    });
    expect(created.status).toBe(201);
    const job = (await created.json()) as { id: string };
    await waitFor(
      async () => {
        const r = (await (await fetch(`${api.url}/v1/jobs/${job.id}/wait?timeout_s=10`)).json()) as {
          status: string;
        };
        return r.status === 'failed' || r.status === 'completed';
      },
      { timeoutMs: 120_000, intervalMs: 50, message: 'the big job to end' },
    );
    const totalText = message.length * REPEAT;

    const before = rssBytes(api.pid);
    const slow = openStream(`${api.url}/v1/jobs/${job.id}/stream`);
    await waitFor(() => slow.events.length >= 3, { timeoutMs: 30_000, message: 'a few events' });
    slow.pause(); // the reader stops reading: the socket fills, the server must neither buffer nor wait forever
    let peak = rssBytes(api.pid);
    await waitFor(
      async () => {
        peak = Math.max(peak, rssBytes(api.pid));
        return (await metric(api, 'jobstream_sse_dropped_slow_total')) >= 1;
      },
      { timeoutMs: 60_000, intervalMs: 100, message: 'the slow reader to be dropped' },
    );
    peak = Math.max(peak, rssBytes(api.pid));
    slow.resume(); // take what was already on the wire, then the close
    await slow.closed;
    const after = rssBytes(api.pid);
    console.log(
      `[attack:slow-reader] job ${mib(totalText)} of token text in ${TOKENS} events; API RSS before ${mib(before)}, ` +
        `peak while the reader stalled ${mib(peak)}, after the drop ${mib(after)}; ` +
        `the slow reader got ${slow.events.length} events before the drop`,
    );
    // The whole job is ~100 MB: buffering it (or a 2,000-event page of it) for the reader would add at least that.
    expect(peak - before).toBeLessThan(48 * MiB);
    expect(slow.events.length).toBeLessThan(TOKENS);

    // resume from the last complete event: exactly the rest, to the terminal event
    const last = slow.events.at(-1)!;
    const rest = openStream(`${api.url}/v1/jobs/${job.id}/stream`, last.id);
    await rest.closed;
    const all = [...slow.events, ...rest.events];
    expect(all.map((e) => e.seq)).toEqual(Array.from({ length: all.length }, (_, i) => i + 1));
    const end = all.at(-1)!;
    expect(end.type).toBe('error'); // fail_after: the job ends after its last token
    const streamed = all.reduce((n, e) => n + (e.type === 'token' ? e.textLength : 0), 0);
    expect(streamed).toBe(end.outputTokens! * TOKEN_CHARS); // every token's text, once
    expect(streamed).toBe(totalText);
  }, 180_000);
});
